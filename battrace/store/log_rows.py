"""What the store keeps of a log entry: nothing of a sealed item's entry that its sealed row already holds.

A sealed item's entry (schemas/log_entries.py) is compact sorted-key JSON of fields of its ``sealed`` row, so the
``log_entries`` view renders it from that row (battrace/store/ddl/001_tables.sql) by plain concatenation. That
rendering is byte-exact as long as JSON escaped nothing; an escape always writes a backslash, so an entry with one
(an id with a quote, a backslash or a control character) is stored as it is, like every entry of another kind.
"""

from __future__ import annotations

from typing import Any

from schemas.log_entries import SEALED


def stored_entry(kind: str, entry: bytes | str) -> bytes | str:
    """The ``entry`` column of ``log_store``: empty where the view renders the entry from the sealed row."""
    escaped = (b"\\" in entry) if isinstance(entry, bytes) else ("\\" in entry)
    return entry[:0] if kind == SEALED and not escaped else entry


def stored_log_row(row: dict[str, Any]) -> dict[str, Any]:
    """A ``log_entries`` row as the sink stores it."""
    return {**row, "entry": stored_entry(row["kind"], row["entry"])}
