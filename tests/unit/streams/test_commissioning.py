"""``commissioning``: N distinct, valid batteries for state benchmarks, deterministic per seed."""

from __future__ import annotations

from itertools import islice

import pytest

from battrace.domain.battery_code import code_error
from battrace.domain.entities import body_of, kind_of
from processors.validate import Accepted, Validator
from schemas.codec import Decoder
from streams import topics
from streams.simulator import SimEvent, commissioning, simulate, story_stats


def _signature(events: list[SimEvent]) -> list[tuple[object, ...]]:
    return [(e.topic, e.key, e.value, e.timestamp_ms, e.expected_reason, e.event_id, e.expected_flags) for e in events]


@pytest.mark.parametrize("n", [0, 1, 2, 777])
def test_yields_exactly_the_requested_count(n: int) -> None:
    assert sum(1 for _ in commissioning(n)) == n


def test_streams_lazily_and_rejects_a_negative_count() -> None:
    assert len(list(islice(commissioning(10**12), 3))) == 3
    with pytest.raises(ValueError):
        commissioning(-1)


def test_every_event_commissions_one_new_valid_battery() -> None:
    validator = Validator()
    batteries: set[str] = set()
    event_ids: set[str] = set()
    times: list[int] = []
    for ev in commissioning(3_000, seed=5):
        verdict = validator.validate(ev.topic, ev.value, ev.timestamp_ms)
        assert isinstance(verdict, Accepted), verdict
        assert verdict.kind == "Commissioned" and ev.topic == topics.MES.name
        assert ev.expected_reason is None and ev.expected_flags == ()
        assert verdict.event_id == ev.event_id
        code = body_of(verdict.record)["battery_id"]
        assert code_error(code) is None
        assert verdict.entities == [f"battery:{code}"] and ev.key == code.encode()
        batteries.add(code)
        event_ids.add(ev.event_id)
        times.append(verdict.event_time_ms)
    assert len(batteries) == len(event_ids) == 3_000
    assert times == sorted(times)
    assert {c[4] for c in batteries} == {"E", "B"}  # both cell lines, so both chemistries


def test_same_seed_same_bytes_other_seed_other_batteries() -> None:
    assert _signature(list(commissioning(500, seed=3))) == _signature(list(commissioning(500, seed=3)))
    a, b = list(commissioning(500, seed=1)), list(commissioning(500, seed=2))
    assert [e.value for e in a] != [e.value for e in b]


def test_encoded_like_the_story_s_own_cells() -> None:
    """Same framing, schema and record shape as the first cell the full story commissions."""
    decoder = Decoder()
    assert story_stats(commissioning(50)) == {"Commissioned": 50}
    ours = next(iter(commissioning(1)))
    theirs = next(
        e
        for e in simulate(2_000, invalid_share=0.0)
        if e.topic == topics.MES.name and kind_of(decoder.decode(e.value).record) == "Commissioned"
    )
    assert ours.value[:10] == theirs.value[:10]  # single-object magic and the MesEvent fingerprint
    a, b = decoder.decode(ours.value).record, decoder.decode(theirs.value).record
    assert (a["site_id"], a["line_id"]) == (b["site_id"], b["line_id"])
    same = ("chemistry", "model", "capacity_ah", "energy_kwh", "certification_number", "sgtin")
    assert {k: body_of(a)[k] for k in same} == {k: body_of(b)[k] for k in same}
    assert body_of(a)["battery_id"][:14] == body_of(b)["battery_id"][:14]  # manufacturer .. first trace code
