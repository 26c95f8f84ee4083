"""The log entry encoder: msgspec on the worker, the standard library in offline verifiers; the bytes must agree."""

from __future__ import annotations

import sys

from schemas import log_entries as records

ROW = {"entity_type": "battery", "seq": 7, "event_hash": "ab" * 32, "chain_hash": "cd" * 32}


def _every_code_point() -> list[str]:
    points = [c for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    return ["".join(map(chr, points[i : i + 4096])) for i in range(0, len(points), 4096)]


def test_fast_encoder_equals_the_standard_library_on_every_code_point() -> None:
    for text in _every_code_point():
        row = {**ROW, "entity_id": text, "event_id": text[::-1]}
        assert records.sealed_entry(row) == records.stdlib_dumps({"kind": records.SEALED, **row}), text[:1]


def test_the_fast_encoder_is_in_use_and_sorts_keys() -> None:
    assert records._dumps is not records.stdlib_dumps
    entry = records.redelivered_entry("lot:L-1", 'e"\\\n\x00\u2028', ("src", 3, 99))
    assert entry == records.stdlib_dumps(
        {"source": ["src", 3, 99], "kind": "redelivered", "entity": "lot:L-1", "event_id": 'e"\\\n\x00\u2028'}
    )
    assert entry.startswith(b'{"entity":"lot:L-1","event_id":"e\\"\\\\\\n\\u0000\xe2\x80\xa8","kind":"redelivered"')
