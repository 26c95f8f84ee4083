"""The story's deliberate compliance violations: valid events that the pure checkers flag, exactly as annotated.

Each check replays the simulated events through the checker the pipeline uses (lifecycle per battery,
custody per party step, mass balance per Recycled event) and compares what it raises with
``SimEvent.expected_flags``: every annotated flag is raised, and nothing else is.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from typing import Any

import pytest

from battrace.domain import custody, lifecycle
from battrace.domain.custody import CustodyStep, Provenance, check_custody, custody_parties, lot_eligibility
from battrace.domain.entities import body_of, entities_of, kind_of, split_key
from battrace.domain.recycled import check_mass_balance
from processors.validate import Accepted, Validator
from schemas.catalog import LOGISTICS_EVENT, MES_EVENT
from schemas.codec import Decoder
from streams.simulator import SimEvent, expected_flag_counts, simulate
from streams.simulator.story import LAPSED_DISMANTLER, UNLISTED_HAULIER

MASS_BALANCE = "outputs_exceed_inputs"
FLAGS = (
    "unlisted",
    "expired",
    "already_installed",
    "recycled_without_collection",
    "event_after_destruction",
    MASS_BALANCE,
)
Decoded = tuple[SimEvent, str, dict[str, Any]]  # event, schema, record
Found = set[tuple[str, str]]  # (event_id, flag code)


def _decode(events: list[SimEvent]) -> list[Decoded]:
    decoder = Decoder()
    out = []
    for ev in events:
        if ev.expected_reason is None:
            d = decoder.decode(ev.value)
            out.append((ev, d.schema, d.record))
    return out


@pytest.fixture(scope="module", params=[(3_000, 7), (3_000, 23), (20_000, 7)], ids=lambda p: f"{p[0]}-seed{p[1]}")
def run(request: pytest.FixtureRequest) -> list[Decoded]:
    events, seed = request.param
    return _decode(list(simulate(events, seed=seed)))


@pytest.fixture(scope="module")
def clean() -> list[Decoded]:
    """The same world without its incidents: no checker may fire."""
    return _decode(list(simulate(20_000, seed=7, violations=False)))


def annotated(run: list[Decoded], codes: tuple[str, ...]) -> Found:
    return {(ev.event_id, f) for ev, _, _ in run for f in ev.expected_flags if f in codes}


# --- the checkers, replayed ------------------------------------------------------------------------------


def lifecycle_flags(run: list[Decoded]) -> Found:
    """Replay each battery's events in the given order; cross-key not_commissioned are ordering artefacts."""
    states: dict[str, lifecycle.Lifecycle] = defaultdict(lambda: lifecycle.NEW)
    found: Found = set()
    for ev, schema, record in run:
        if schema not in (MES_EVENT, LOGISTICS_EVENT):
            continue
        kind, body = kind_of(record), body_of(record)
        for entity in entities_of(schema, record):
            entity_type, battery = split_key(entity)
            if entity_type != "battery":
                continue
            states[battery], violation = lifecycle.step(states[battery], kind, body, battery)
            if violation and not (violation.code == "not_commissioned" and lifecycle.cross_key(kind, body, battery)):
                found.add((ev.event_id, violation.code))
    return found


def registry_of(run: list[Decoded]) -> dict[str, list[dict[str, Any]]]:
    """Every licence record per party (renewals included), as the registry topic carried them."""
    registry: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _, _, record in run:
        if kind_of(record) == "Licence":
            registry[record["entity_id"]].append(record)
    return registry


def custody_flag(kind: str, body: dict[str, Any], party: str, roles: Any, at_ms: int, registry: Any) -> str | None:
    licence = body.get("transporter_licence") if kind == "ConsignmentCreated" else None
    flag = check_custody(party, roles, at_ms, registry, licence_number=licence)
    return flag.code if flag else None


def custody_flags(run: list[Decoded]) -> Found:
    registry = registry_of(run)
    found: Found = set()
    for ev, _, record in run:
        kind, body = kind_of(record), body_of(record)
        for party, roles in custody_parties(kind, body):
            code = custody_flag(kind, body, party, roles, record["event_time"], registry)
            if code:
                found.add((ev.event_id, code))
    return found


def mass_balance_flags(run: list[Decoded]) -> Found:
    found: Found = set()
    for ev, _, record in run:
        if kind_of(record) == "Recycled":
            b = body_of(record)
            balance = check_mass_balance([i["mass_kg"] for i in b["inputs"]], [o["mass_kg"] for o in b["outputs"]])
            if balance.exceeds_inputs:
                found.add((ev.event_id, MASS_BALANCE))
    return found


# --- presence and scale -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [*range(8), 23])
def test_every_run_of_3000_carries_each_violation_once(seed: int) -> None:
    assert expected_flag_counts(simulate(3_000, seed=seed)) == dict.fromkeys(sorted(FLAGS), 1)


def test_longer_runs_carry_more_rounds() -> None:
    assert expected_flag_counts(simulate(20_000, seed=7)) == dict.fromkeys(sorted(FLAGS), 2)


def test_violations_are_valid_events(run: list[Decoded]) -> None:
    """Flagged, not rejected: they pass validation (and so are sealed) like any other event."""
    validator = Validator()
    flagged = [ev for ev, _, _ in run if ev.expected_flags]
    assert flagged
    for ev in flagged:
        verdict = validator.validate(ev.topic, ev.value, ev.timestamp_ms)
        assert isinstance(verdict, Accepted) and verdict.event_id == ev.event_id, verdict
    assert all(not ev.expected_flags for ev in simulate(3_000, seed=7, invalid_share=0.1) if ev.expected_reason)


def test_the_clean_world_raises_nothing(clean: list[Decoded]) -> None:
    assert not any(ev.expected_flags for ev, _, _ in clean)
    assert {kind_of(r) for _, _, r in clean} >= {"Dismantled", "Recycled", "ConsignmentCreated", "Serviced"}
    assert lifecycle_flags(clean) == set()
    assert custody_flags(clean) == set()
    assert mass_balance_flags(clean) == set()


# --- each checker flags exactly the annotated events -------------------------------------------------------


def test_lifecycle_flags_exactly_the_annotated_events(run: list[Decoded]) -> None:
    expected = annotated(run, lifecycle.VIOLATIONS)
    assert {code for _, code in expected} == {
        "already_installed",
        "recycled_without_collection",
        "event_after_destruction",
    }
    assert lifecycle_flags(run) == expected


def _interleavings(events: list[SimEvent]) -> list[list[SimEvent]]:
    """Orders that keep each Kafka key's own order and nothing else: random merges, and one topic at a time."""
    orders = []
    rng = random.Random(0)
    for _ in range(3):
        keys = [(ev.topic, ev.key) for ev in events]
        rng.shuffle(keys)
        queues: dict[tuple[str, bytes], list[SimEvent]] = defaultdict(list)
        for ev in reversed(events):
            queues[(ev.topic, ev.key)].append(ev)
        orders.append([queues[k].pop() for k in keys])
    topics = sorted({ev.topic for ev in events})
    for first in topics:
        orders.append([ev for t in (first, *(t for t in topics if t != first)) for ev in events if ev.topic == t])
    orders.append([ev for t in reversed(topics) for ev in events if ev.topic == t])
    return orders


@pytest.mark.parametrize("seed", [7, 23])
def test_lifecycle_flags_survive_any_cross_key_interleaving(seed: int) -> None:
    """The pipeline keeps per-key order only: every violation sits on its battery's own key, after the events
    it contradicts, so any interleaving of the keys flags the same events."""
    events = list(simulate(3_000, seed=seed))
    expected = annotated(_decode(events), lifecycle.VIOLATIONS)
    for order in _interleavings(events):
        assert lifecycle_flags(_decode(order)) == expected


def test_custody_flags_exactly_the_annotated_events(run: list[Decoded]) -> None:
    expected = annotated(run, custody.FLAGS)
    assert {code for _, code in expected} == {"unlisted", "expired"}
    assert custody_flags(run) == expected
    by_id = {ev.event_id: body_of(r) for ev, _, r in run}
    for event_id, code in expected:
        party = by_id[event_id].get("transporter_id") if code == "unlisted" else by_id[event_id].get("dismantler_id")
        assert party == (UNLISTED_HAULIER.entity_id if code == "unlisted" else LAPSED_DISMANTLER)


def test_mass_balance_flags_exactly_the_annotated_event(run: list[Decoded]) -> None:
    expected = annotated(run, (MASS_BALANCE,))
    assert expected
    assert mass_balance_flags(run) == expected


def test_black_mass_never_outweighs_its_pack(run: list[Decoded]) -> None:
    mass = {body_of(r)["battery_id"]: body_of(r)["mass_kg"] for _, _, r in run if kind_of(r) == "Commissioned"}
    for _, _, r in run:
        if kind_of(r) == "Dismantled":
            b = body_of(r)
            assert not check_mass_balance(mass[b["battery_id"]], b["output_mass_kg"]).exceeds_inputs


# --- the custody gap reaches the recovered lots --------------------------------------------------------------


def provenance_of(run: list[Decoded]) -> dict[str, Provenance]:
    """A minimal provenance: batteries by their collection, black mass by its dismantling, recovered lots by
    their recycling and inputs; each step checked against the registry at its own time."""
    registry = registry_of(run)
    steps: dict[str, list[CustodyStep]] = defaultdict(list)
    parents: dict[str, tuple[str, ...]] = {}
    required: dict[str, tuple[str, ...]] = {}
    for ev, _, record in run:
        kind, b = kind_of(record), body_of(record)
        if kind not in ("EndOfLifeCollected", "Dismantled", "Recycled"):
            continue
        flags = [
            custody.CustodyFlag(code, party, "")
            for party, roles in custody_parties(kind, b)
            if (code := custody_flag(kind, b, party, roles, record["event_time"], registry))
        ]
        party = b.get("collector_id") or b.get("dismantler_id") or b.get("recycler_id")
        step = CustodyStep(kind, party, flags[0] if flags else None, ev.event_id)
        if kind == "EndOfLifeCollected":
            steps[b["battery_id"]].append(step)
        elif kind == "Dismantled":
            lot = b["output_lot_id"]
            steps[lot].append(step)
            parents[lot], required[lot] = (b["battery_id"],), ("Dismantled",)
        else:
            for o in b["outputs"]:
                steps[o["lot_id"]].append(step)
                parents[o["lot_id"]] = tuple(i["lot_id"] for i in b["inputs"])
    nodes = set(steps) | set(parents)
    return {n: Provenance(tuple(steps[n]), parents.get(n, ()), required.get(n, ())) for n in nodes}


def test_the_lapsed_dismantler_makes_recovered_lots_ineligible(run: list[Decoded]) -> None:
    provenance = provenance_of(run)
    recycled = [(ev, body_of(r)) for ev, _, r in run if kind_of(r) == "Recycled"]
    tainted = [b for ev, b in recycled if MASS_BALANCE in ev.expected_flags]
    assert tainted
    for b in tainted:
        for o in b["outputs"]:
            verdict = lot_eligibility(o["lot_id"], provenance)
            assert not verdict.eligible
            assert [(g.node, g.code) for g in verdict.gaps] == [(b["inputs"][0]["lot_id"], "expired")]
    for ev, b in recycled:
        if MASS_BALANCE not in ev.expected_flags:
            assert all(lot_eligibility(o["lot_id"], provenance).eligible for o in b["outputs"])


def test_flag_counts_match_what_the_checkers_raise(run: list[Decoded]) -> None:
    raised = Counter(code for _, code in lifecycle_flags(run) | custody_flags(run) | mass_balance_flags(run))
    assert dict(sorted(raised.items())) == expected_flag_counts(ev for ev, _, _ in run)
