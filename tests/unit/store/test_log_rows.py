"""What the store keeps of a log entry: nothing for a sealed entry the view can render by concatenation, the bytes
themselves wherever JSON escaped something (an escape always writes a backslash) or the entry is of another kind."""

from __future__ import annotations

import pytest

from battrace.store.log_rows import stored_entry, stored_log_row
from schemas.log_entries import REDELIVERED, SEALED, redelivered_entry, sealed_entry

ROW = {
    "entity_type": "battery",
    "entity_id": "CH2CBL12000001T150000001",
    "seq": 7,
    "event_id": "0007419d-1c67-455c-b807-9b4a68c995aa",
    "event_hash": "ab" * 32,
    "chain_hash": "cd" * 32,
}


def _rendered(row: dict) -> bytes:
    """The entry as the log_entries view renders it (battrace/store/ddl/001_tables.sql): plain concatenation."""
    return (
        f'{{"chain_hash":"{row["chain_hash"]}","entity_id":"{row["entity_id"]}","entity_type":"{row["entity_type"]}",'
        f'"event_hash":"{row["event_hash"]}","event_id":"{row["event_id"]}","kind":"sealed","seq":{row["seq"]}}}'
    ).encode()


def test_a_plain_sealed_entry_is_not_stored_and_the_view_renders_the_same_bytes() -> None:
    entry = sealed_entry(ROW)
    assert stored_entry(SEALED, entry) == b""
    assert _rendered(ROW) == entry


@pytest.mark.parametrize("entity_id", ['quote"d', "back\\slash", "new\nline", "tab\t", "nul\x00", "bell\x07"])
def test_an_entry_whose_ids_json_escapes_is_stored_as_it_is(entity_id: str) -> None:
    row = {**ROW, "entity_id": entity_id}
    entry = sealed_entry(row)
    assert _rendered(row) != entry  # concatenation would not give these bytes back ...
    assert stored_entry(SEALED, entry) == entry  # ... so they are kept


@pytest.mark.parametrize("entity_id", ["站点-7", "a/b", "µ ✓", "x\u2028y", "del\x7f"])
def test_ids_json_leaves_unescaped_render_by_concatenation(entity_id: str) -> None:
    row = {**ROW, "entity_id": entity_id}
    assert stored_entry(SEALED, sealed_entry(row)) == b""
    assert _rendered(row) == sealed_entry(row)


def test_entries_of_other_kinds_are_stored() -> None:
    entry = redelivered_entry("battery:B1", "e1", ("mes.events", 0, 5))
    assert stored_entry(REDELIVERED, entry) == entry
    row = {"log_id": "L", "log_index": 3, "kind": REDELIVERED, "entry": entry}
    assert stored_log_row(row) == row
    assert stored_log_row({**row, "kind": SEALED, "entry": sealed_entry(ROW)})["entry"] == b""
