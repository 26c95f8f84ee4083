"""The bytes each trace.chain message is logged as: the leaf entries of the per-partition RFC 6962 logs.

A trace.chain message is a pack of chain items; each item gets exactly one entry, in partition order, so the
log is a pure function of the partition's content:

- ``sealed`` — the sealed record the item produced (entity, seq, event, hashes);
- ``redelivered`` — the seal stage recognised the item as a replay of an event the entity already holds.

Entries are compact JSON with sorted keys: unambiguous, and readable in an audit. This module needs only the
standard library, so offline verifiers can import it; where msgspec is installed (the worker), it encodes the
same bytes about five times faster (tests/unit/schemas/test_log_entries.py compares the two over every code point).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

SEALED, REDELIVERED = "sealed", "redelivered"
SEALED_FIELDS = ("entity_type", "entity_id", "seq", "event_id", "event_hash", "chain_hash")


def stdlib_dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


try:
    import msgspec

    _dumps: Callable[[dict[str, Any]], bytes] = msgspec.json.Encoder(order="sorted").encode
except ImportError:  # pragma: no cover - an offline verifier without msgspec
    _dumps = stdlib_dumps


def compact_json(obj: dict[str, Any]) -> bytes:
    """Compact sorted-key JSON, the encoding of every log entry (and of the heads' leaves, schemas/heads.py)."""
    return _dumps(obj)


def sealed_entry(row: Mapping[str, Any]) -> bytes:
    """The entry of a ``sealed`` row; chain_hash commits to prev_hash, so prev_hash is not repeated."""
    return _dumps({"kind": SEALED, **{f: row[f] for f in SEALED_FIELDS}})


def redelivered_entry(entity: str, event_id: str, source: tuple[str, int, int] | list[object]) -> bytes:
    """``source``: the (topic, partition, offset) the event was accepted from, which the entity already applied."""
    return _dumps({"kind": REDELIVERED, "entity": entity, "event_id": event_id, "source": list(source)})
