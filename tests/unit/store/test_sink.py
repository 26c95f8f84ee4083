"""The ClickHouse sink on real chDB: every column type the tables use goes in as written and comes back the same,
a re-sent block adds no rows, and a row without a value for a non-NULL column is refused (never defaulted).

chDB opens one store per process, so each case runs in a child process (the pytest process never opens chDB).
"""

from __future__ import annotations

import msgspec
import pytest
from sink_rows import EDGE, EVENT

from battrace.store.row_codec import EVENTS, GENEALOGY
from battrace.store.tables import MissingValues


def test_an_encoded_row_without_a_value_for_a_non_null_column_is_refused() -> None:
    with pytest.raises(MissingValues, match=r"^events\.site_id: the row has no value$"):
        EVENTS.encode({**EVENT, "site_id": None})
    with pytest.raises(MissingValues, match=r"^events\.payload: the row has no value$"):
        EVENTS.encode({k: v for k, v in EVENT.items() if k != "payload"})
    assert EVENTS.encode({**EVENT, "lat": None, "lon": None})  # Nullable columns take None


def test_an_encoded_row_is_its_values_in_column_order_without_a_row_header() -> None:
    decoder = msgspec.msgpack.Decoder()
    raw = GENEALOGY.encode(EDGE) + GENEALOGY.encode({**EDGE, "to_id": "B2"})
    values, at = [], 0
    while at < len(raw):  # MsgPack values one after another: what ClickHouse's MsgPack input reads
        size = _value_size(raw, at)
        values.append(decoder.decode(raw[at : at + size]))
        at += size
    assert values == [*_row(EDGE, 3.0), *_row({**EDGE, "to_id": "B2"}, 3.0)]
    assert isinstance(values[5], float)


def _row(edge: dict, mass: float) -> list:
    return [mass if c == "mass_kg" else edge[c] for c in GENEALOGY.columns]


def _value_size(raw: bytes, at: int) -> int:
    """The length of the MsgPack value at ``at`` (the scalar types an edge row holds)."""
    head = raw[at]
    if head <= 0x7F or head in (0xC0, 0xC2, 0xC3):  # positive fixint, nil, false, true
        return 1
    if 0xA0 <= head <= 0xBF:  # fixstr
        return 1 + (head & 0x1F)
    sizes = {0xCB: 9, 0xCF: 9, 0xCE: 5, 0xCD: 3, 0xCC: 2}  # float64, uint64, uint32, uint16, uint8
    if head in sizes:
        return sizes[head]
    if head == 0xD9:  # str8
        return 2 + raw[at + 1]
    raise AssertionError(f"unexpected MsgPack head byte {head:#x}")
