"""The table value codec: JSON round trips, reads what the standard library wrote, and stays small in memory."""

from __future__ import annotations

import json
import tracemalloc

from faust.serializers import codecs

from processors import table_codec

STATE = {
    "type": "battery",
    "id": "MJ1CEN51000001T150000001",
    "seq": 3,
    "applied": {"mes.events:0": 17},
    "lifecycle": {"phase": "manufacturing", "installed_in": None, "destroyed": False},
    "mass_kg": 2.469,
    "energy_kwh": 0.1 + 0.2,
    "site_id": "Zürich-宁德",
    "children": ["a", "b"],
}


def test_round_trip_and_compatible_with_stdlib_json() -> None:
    table_codec.register()
    codec = codecs.get_codec(table_codec.NAME)
    raw = codec.dumps(STATE)
    assert codec.loads(raw) == STATE == json.loads(raw)
    assert codec.loads(json.dumps(STATE).encode()) == STATE  # a changelog written before this codec still loads


def test_encoded_values_are_not_padded() -> None:
    table_codec.register()
    codec = codecs.get_codec(table_codec.NAME)
    tracemalloc.start()
    try:
        held = [codec.dumps(STATE) for _ in range(1000)]
        allocated = sum(s.size for s in tracemalloc.take_snapshot().statistics("filename"))
    finally:
        tracemalloc.stop()
    assert allocated / len(held) < 2 * len(held[0]) + 200
