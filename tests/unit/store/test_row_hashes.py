"""Hashes travel in rows as hex and are stored as their 32 bytes: a FixedString(32) column gets the digest's bytes,
and anything that is not a 32-byte hex digest is refused, naming the column (never stored truncated or padded)."""

from __future__ import annotations

import msgspec
import pytest

from battrace.store.row_codec import RowFormat
from battrace.store.tables import COLUMNS

SEALED_TYPES = {c: "String" for c in COLUMNS["sealed"]} | {
    "seq": "UInt64",
    "log_index": "UInt64",
    "sealed_at": "DateTime64(3, 'UTC')",
    "event_hash": "FixedString(32)",
    "prev_hash": "FixedString(32)",
    "chain_hash": "FixedString(32)",
}
ROW = {
    "entity_type": "battery",
    "entity_id": "B1",
    "seq": 1,
    "event_id": "e1",
    "event_hash": "ab" * 32,
    "prev_hash": "00" * 32,
    "chain_hash": "0123456789abcdef" * 4,
    "log_id": "L",
    "log_index": 0,
    "sealed_at": 1_767_923_717_000,
}


def _values(fmt: RowFormat, row: dict) -> list:
    raw = fmt.encode(row)
    return msgspec.msgpack.decode(bytes([0x90 + len(fmt.columns)]) + raw)  # the row with its array header back


def test_hash_columns_are_stored_as_their_bytes() -> None:
    fmt = RowFormat.of_types("sealed", SEALED_TYPES)
    assert fmt.columns == COLUMNS["sealed"]
    values = dict(zip(fmt.columns, _values(fmt, ROW), strict=True))
    assert values["event_hash"] == b"\xab" * 32
    assert values["chain_hash"] == bytes.fromhex("0123456789abcdef" * 4)
    assert values["prev_hash"] == b"\0" * 32  # stored: after an archive drop the row before is not there
    assert values["event_id"] == "e1"


@pytest.mark.parametrize("bad", ["ab" * 31, "ab" * 33, "zz" * 32, "", b"\xab" * 31])
def test_what_is_not_a_32_byte_hex_digest_is_refused(bad: str) -> None:
    fmt = RowFormat.of_types("sealed", SEALED_TYPES)
    with pytest.raises(ValueError, match=r"^sealed\.chain_hash: .* is not a 32-byte hex digest$"):
        fmt.encode({**ROW, "chain_hash": bad})


def test_bytes_of_a_digest_go_in_as_they_are() -> None:
    fmt = RowFormat.of_types("sealed", SEALED_TYPES)
    values = dict(zip(fmt.columns, _values(fmt, {**ROW, "event_hash": b"\x01" * 32}), strict=True))
    assert values["event_hash"] == b"\x01" * 32


def test_a_string_column_keeps_hex() -> None:
    fmt = RowFormat.of_types("sealed", {**SEALED_TYPES, "chain_hash": "String"})
    assert dict(zip(fmt.columns, _values(fmt, ROW), strict=True))["chain_hash"] == ROW["chain_hash"]
