"""The simulator's contract: exact counts, determinism, validator verdicts as predicted, a causal story."""

from __future__ import annotations

from collections import Counter
from itertools import islice, pairwise
from typing import Any

import pytest

from battrace.domain.battery_code import code_error
from battrace.domain.entities import body_of, kind_of
from processors.validate import Accepted, Rejected, Validator
from schemas.codec import Decoder
from schemas.reasons import Reason
from streams import topics
from streams.simulator import SimEvent, simulate, story_stats
from streams.simulator.faults import KINDS
from streams.simulator.story import PARTIES

Decoded = tuple[SimEvent, dict[str, Any]]


@pytest.fixture(scope="module")
def story() -> list[Decoded]:
    """A 20,000-message run (seed 7), valid messages decoded once for the story checks."""
    decoder = Decoder()
    return [(ev, decoder.decode(ev.value).record) for ev in simulate(20_000) if ev.expected_reason is None]


def _signature(events: list[SimEvent]) -> list[tuple[Any, ...]]:
    return [(e.topic, e.key, e.value, e.timestamp_ms, e.expected_reason, e.event_id) for e in events]


@pytest.mark.parametrize("n", [0, 1, 50, 200, 1_234])
def test_yields_exactly_the_requested_count(n: int) -> None:
    assert sum(1 for _ in simulate(n)) == n


def test_streams_lazily() -> None:
    first = list(islice(simulate(10**12), 5))
    assert len(first) == 5


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        simulate(-1)
    with pytest.raises(ValueError):
        simulate(10, invalid_share=1.5)


def test_same_arguments_give_byte_identical_runs() -> None:
    assert _signature(list(simulate(3_000, seed=11))) == _signature(list(simulate(3_000, seed=11)))


def test_another_seed_tells_another_story() -> None:
    a, b = list(simulate(500, seed=1)), list(simulate(500, seed=2))
    assert [e.value for e in a] != [e.value for e in b]


def test_faults_do_not_change_the_valid_story() -> None:
    clean = [e for e in simulate(3_000, invalid_share=0.0)]
    noisy = [e for e in simulate(3_000, invalid_share=0.05) if e.expected_reason is None]
    assert all(e.expected_reason is None for e in clean)
    assert _signature(noisy) == _signature(clean[: len(noisy)])


def test_validator_reaches_the_predicted_verdicts() -> None:
    validator = Validator()
    seen: set[str] = set()
    reasons: Counter[str] = Counter()
    for ev in simulate(5_000, seed=3, invalid_share=0.05):
        verdict = validator.validate(ev.topic, ev.value, ev.timestamp_ms)
        reasons[ev.expected_reason or "valid"] += 1
        if ev.expected_reason is None:
            assert isinstance(verdict, Accepted), verdict
            assert verdict.event_id == ev.event_id
            assert ev.event_id not in seen, "valid event ids are unique"
            assert verdict.event_time_ms <= ev.timestamp_ms
            seen.add(ev.event_id)
        elif ev.expected_reason == Reason.DUPLICATE:
            assert isinstance(verdict, Accepted), "a replay passes validation; dedup catches it by id"
            assert verdict.event_id == ev.event_id and ev.event_id in seen
        else:
            assert isinstance(verdict, Rejected), (ev.expected_reason, verdict)
            assert verdict.reason == ev.expected_reason, (verdict.reason, verdict.detail)
            assert verdict.event_id == ev.event_id
    assert 200 <= sum(n for r, n in reasons.items() if r != "valid") <= 300  # about 5 %
    assert set(reasons) == {"valid", *KINDS}


@pytest.mark.parametrize("seed", range(8))
def test_small_runs_carry_every_invalid_kind(seed: int) -> None:
    kinds = {ev.expected_reason for ev in simulate(200, seed=seed)} - {None}
    assert kinds == set(KINDS)


def test_invalid_messages_are_spread_through_the_run() -> None:
    positions = [i for i, ev in enumerate(simulate(10_000)) if ev.expected_reason is not None]
    assert 150 <= len(positions) <= 250
    assert positions[0] < 500 and positions[-1] > 9_500
    assert max(b - a for a, b in pairwise(positions)) < 200


def test_registry_comes_first_and_clock_never_goes_back(story: list[Decoded]) -> None:
    assert all(ev.topic == topics.REGISTRY.name for ev, _ in story[: len(PARTIES)])
    times = [r["event_time"] for _, r in story]
    assert times == sorted(times)
    assert all(r["event_time"] <= ev.timestamp_ms for ev, r in story)


def test_kafka_keys_name_the_subject(story: list[Decoded]) -> None:
    for ev, r in story:
        b, kind = body_of(r), kind_of(r)
        if ev.topic == topics.MES.name:
            expected = {"Assembled": b.get("parent_id"), "Recycled": (b.get("inputs") or [{}])[0].get("lot_id")}
            assert ev.key.decode() == expected.get(kind, b.get("battery_id"))
        elif ev.topic == topics.LOGISTICS.name:
            assert ev.key.decode() == r["consignment_id"]
        elif ev.topic == topics.ASSAY.name:
            assert ev.key.decode() == r["lot_id"]
        else:
            assert ev.key.decode() == r["entity_id"]


def test_story_is_causal(story: list[Decoded]) -> None:
    """Every battery and lot an event refers to was commissioned or assayed before it."""
    commissioned: set[str] = set()
    assayed: set[str] = set()
    for _, r in story:
        b, kind = body_of(r), kind_of(r)
        if kind == "Commissioned":
            assert code_error(b["battery_id"]) is None
            assert b["battery_id"] not in commissioned, "codes are unique"
            commissioned.add(b["battery_id"])
        elif kind == "Assay":
            assayed.add(r["lot_id"])
        elif kind == "Assembled":
            assert {b["parent_id"], *b["child_ids"]} <= commissioned
        elif kind == "ConsignmentCreated":
            assert set(b["battery_ids"]) <= commissioned and set(b["lot_ids"]) <= assayed
        elif kind == "MaterialConsumed":
            assert b["battery_id"] in commissioned and {i["lot_id"] for i in b["inputs"]} <= assayed
        elif kind == "Recycled":
            assert {i["lot_id"] for i in b["inputs"]} <= assayed
        elif kind in ("VehicleIntegrated", "Serviced", "EndOfLifeCollected", "Dismantled"):
            assert b["battery_id"] in commissioned
            assert b.get("replacement_id") in (None, *commissioned)


def test_recycling_loop_closes(story: list[Decoded]) -> None:
    """Packs reach end of life, black mass is refined, and recovered lots go into new cells."""
    recovered = {r["lot_id"] for _, r in story if kind_of(r) == "Assay" and r["recycled_post_consumer"] > 0}
    outputs = {o["lot_id"] for _, r in story if kind_of(r) == "Recycled" for o in body_of(r)["outputs"]}
    consumed = {i["lot_id"] for _, r in story if kind_of(r) == "MaterialConsumed" for i in body_of(r)["inputs"]}
    assert outputs & recovered & consumed


def test_story_has_the_expected_cast(story: list[Decoded]) -> None:
    kinds = Counter(kind_of(r) for _, r in story)
    for kind in ("Licence", "Assay", "Commissioned", "MaterialConsumed", "EnergyUsed", "Assembled",
                 "ConsignmentCreated", "Departed", "Position", "Arrived", "Delivered", "VehicleIntegrated",
                 "Serviced", "EndOfLifeCollected", "Dismantled", "Recycled"):  # fmt: skip
        assert kinds[kind] > 0, kind
    codes = [body_of(r)["battery_id"] for _, r in story if kind_of(r) == "Commissioned"]
    assert {c[3] for c in codes} == {"C", "M", "P"} and {c[4] for c in codes} == {"E", "B"}
    assert kinds["Assay"] >= 24 and kinds["Delivered"] >= 5
    modes = {body_of(r)["mode"] for _, r in story if kind_of(r) == "ConsignmentCreated"}
    assert {"ROAD", "SEA", "RAIL"} <= modes
    fences = {(body_of(r)["geofence"], body_of(r)["geofence_id"]) for _, r in story if kind_of(r) == "Position"}
    assert {("ENTER", "GF-CNSHA"), ("EXIT", "GF-CNSHA"), ("ENTER", "GF-NLRTM"), ("EXIT", "GF-NLRTM")} <= fences


def test_consignment_mass_covers_its_packs(story: list[Decoded]) -> None:
    mass = {body_of(r)["battery_id"]: body_of(r)["mass_kg"] for _, r in story if kind_of(r) == "Commissioned"}
    for _, r in story:
        b = body_of(r)
        if kind_of(r) == "ConsignmentCreated" and b["battery_ids"]:
            assert b["gross_mass_kg"] > sum(mass[p] for p in b["battery_ids"])


def test_story_stats_counts_every_message() -> None:
    events = list(simulate(1_000))
    stats = story_stats(events)
    assert sum(stats.values()) == 1_000
    assert stats["Licence"] == len(PARTIES) and any(k.startswith("invalid:") for k in stats)
