"""Lifecycle state machine: each transition allowed once and flagged where impossible; pure and replayable."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from itertools import islice
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from battrace.domain.entities import body_of, entities_of, kind_of, split_key
from battrace.domain.lifecycle import NEW, PHASES, STATUSES, VIOLATIONS, Lifecycle, Violation, cross_key, role_of, step
from schemas.catalog import LOGISTICS_EVENT, MES_EVENT
from streams.simulator.story import Story

PACK = "X12PEPM27KLPCLX2M2382320"
SPARE = "X12PEPM27KLPCLX2M2382321"
MODULE = "X12MEPM27KLPCLX2M2382322"
CELL = "X12CEPM27KLPCLX2M2382323"
SECOND = "X12PEPM27KLPCLX2M2382324"  # the code a repurposed PACK goes on under
VIN_A, VIN_B = "LSVAA4182E2184101", "LSVAA4182E2184102"

Event = tuple[str, dict[str, Any]]


def commissioned(b: str = PACK) -> Event:
    return "Commissioned", {"battery_id": b}


def installed(vin: str = VIN_A, b: str = PACK) -> Event:
    return "VehicleIntegrated", {"battery_id": b, "vin": vin, "vehicle_model": "M", "vehicle_category": "M1"}


def serviced(action: str, b: str = PACK, replacement: str | None = None) -> Event:
    return "Serviced", {"battery_id": b, "action": action, "replacement_id": replacement, "state_of_health": 0.9}


def collected(b: str = PACK) -> Event:
    return "EndOfLifeCollected", {"battery_id": b, "collector_id": "CN-COL-001", "reason": "end of life"}


def dismantled(b: str = PACK) -> Event:
    return "Dismantled", {"battery_id": b, "dismantler_id": "D", "output_lot_id": "BM-1", "output_mass_kg": 1.0}


def assembled(parent: str, *children: str) -> Event:
    return "Assembled", {"parent_id": parent, "child_ids": list(children)}


def consumed(b: str = CELL) -> Event:
    return "MaterialConsumed", {"battery_id": b, "inputs": [{"lot_id": "L", "mass_kg": 1.0}]}


def energy(b: str = PACK) -> Event:
    return "EnergyUsed", {"battery_id": b, "step": "formation", "energy_kwh": 1.0, "grid_factor_kg_per_kwh": 0.5}


def repurposed(original: str = PACK, new: str = SECOND) -> Event:
    body = {"battery_id": original, "new_battery_id": new, "repurposer_id": "CN-MFR-001", "application": "storage"}
    return "Repurposed", body


def shipped(*batteries: str) -> Event:
    return "ConsignmentCreated", {"battery_ids": list(batteries), "lot_ids": []}


def run(events: list[Event], battery: str = PACK) -> tuple[Lifecycle, list[Violation]]:
    """Apply events in order; a violation must leave the state exactly as it was."""
    state, seen = NEW, []
    for kind, body in events:
        new, violation = step(state, kind, body, battery)
        if violation:
            assert new == state and violation.code in VIOLATIONS
            seen.append(violation)
        state = new
    return state, seen


def codes(events: list[Event], battery: str = PACK) -> list[str]:
    return [v.code for v in run(events, battery)[1]]


# --- allowed paths ---------------------------------------------------------------------------------------


def test_a_whole_life() -> None:
    state, violations = run(
        [
            commissioned(),
            energy(),
            installed(),
            serviced("INSPECTED"),
            serviced("REPAIRED"),
            collected(),
            dismantled(),
        ]
    )
    assert violations == []
    assert state == Lifecycle("recycling", "waste", None, True, VIN_A)


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([commissioned()], Lifecycle("manufacturing", "original")),
        ([commissioned(), installed()], Lifecycle("vehicle_integration", "original", VIN_A, last_vin=VIN_A)),
        ([commissioned(), installed(), serviced("REPAIRED")], Lifecycle("service", "original", VIN_A, last_vin=VIN_A)),
        (
            [commissioned(), installed(), serviced("REFURBISHED")],
            Lifecycle("service", "remanufactured", VIN_A, last_vin=VIN_A),
        ),
        (
            [commissioned(), installed(), serviced("REPLACED", replacement=SPARE)],
            Lifecycle("service", "original", None, last_vin=VIN_A),
        ),
        ([commissioned(), installed(), collected()], Lifecycle("end_of_life", "waste", None, last_vin=VIN_A)),
        ([commissioned(), collected()], Lifecycle("end_of_life", "waste")),  # production scrap
    ],
)
def test_transitions(events: list[Event], expected: Lifecycle) -> None:
    assert run(events) == (expected, [])


def test_removed_pack_in_another_vehicle_is_re_used() -> None:
    state, violations = run(
        [commissioned(), installed(VIN_A), serviced("REPLACED", replacement=SPARE), installed(VIN_B)]
    )
    assert violations == [] and (state.status, state.installed_in, state.phase) == (
        "re_used",
        VIN_B,
        "vehicle_integration",
    )


def test_refit_into_the_same_vehicle_is_not_re_use() -> None:
    state, violations = run([commissioned(), installed(VIN_A), serviced("REPAIRED"), installed(VIN_A)])
    assert violations == [] and (state.status, state.phase) == ("original", "vehicle_integration")
    state, _ = run([commissioned(), installed(VIN_A), serviced("REPLACED", replacement=SPARE), installed(VIN_A)])
    assert state.status == "original"


def test_remanufactured_stays_remanufactured_in_another_vehicle() -> None:
    events = [commissioned(), installed(VIN_A), serviced("REPLACED", replacement=SPARE), serviced("REFURBISHED")]
    state, violations = run([*events, installed(VIN_B)])
    assert violations == [] and state.status == "remanufactured"


def test_collected_pack_can_only_be_inspected_or_refurbished() -> None:
    assert run([commissioned(), collected(), serviced("INSPECTED")]) == (Lifecycle("end_of_life", "waste"), [])
    state, violations = run([commissioned(), collected(), serviced("REFURBISHED"), installed()])
    assert violations == [] and (state.phase, state.status, state.installed_in) == (
        "vehicle_integration",
        "remanufactured",
        VIN_A,
    )
    assert codes([commissioned(), collected(), serviced("REPAIRED")]) == ["serviced_after_collection"]
    assert codes([commissioned(), collected(), serviced("REPLACED", replacement=SPARE)]) == [
        "serviced_after_collection"
    ]


def test_spare_named_as_replacement_is_checked_not_changed() -> None:
    event = serviced("REPLACED", b=PACK, replacement=SPARE)
    assert role_of(*event, SPARE) == "replacement" and cross_key(*event, SPARE)
    state, violations = run([commissioned(SPARE), event, installed(VIN_A, SPARE)], SPARE)
    assert violations == [] and state == Lifecycle("vehicle_integration", "original", VIN_A, last_vin=VIN_A)


def test_assembly_children_and_parents() -> None:
    assert run([commissioned(CELL), consumed(CELL), assembled(MODULE, CELL)], CELL)[1] == []
    assert run([commissioned(MODULE), assembled(MODULE, CELL), assembled(PACK, MODULE)], MODULE)[1] == []
    assert run([commissioned(), assembled(PACK, MODULE, CELL)])[1] == []


def test_unrelated_kinds_are_ignored() -> None:
    start = run([commissioned()])[0]
    recycled = {"recycler_id": "R", "inputs": [{"lot_id": "BM-1", "mass_kg": 1.0}], "outputs": []}
    for kind, body in [("Recycled", recycled), ("Position", {"lat": 0.0, "lon": 0.0}), ("Assay", {})]:
        assert step(start, kind, body, PACK) == (start, None)


# --- flagged paths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "code"),
    [
        ([commissioned(), commissioned()], "already_commissioned"),
        ([installed()], "not_commissioned"),
        ([energy()], "not_commissioned"),
        ([collected()], "not_commissioned"),
        ([shipped(PACK)], "not_commissioned"),
        ([commissioned(), installed(), energy()], "wrong_phase"),
        ([commissioned(), collected(), assembled(PACK, MODULE)], "wrong_phase"),
        ([commissioned(), installed(VIN_A), installed(VIN_B)], "already_installed"),
        ([commissioned(), collected(), installed()], "installed_after_collection"),
        ([commissioned(), serviced("REPLACED", replacement=SPARE)], "not_installed"),
        ([commissioned(), installed(), serviced("REPLACED")], "replacement_missing"),
        ([commissioned(), installed(), serviced("REPLACED", replacement=PACK)], "replacement_mismatch"),
        ([commissioned(), installed(), serviced("POLISHED")], "unknown_action"),
        ([commissioned(), collected(), collected()], "already_collected"),
        ([commissioned(), installed(), dismantled()], "recycled_without_collection"),
        ([commissioned(), collected(), dismantled(), collected()], "event_after_destruction"),
        ([commissioned(), collected(), dismantled(), commissioned()], "event_after_destruction"),
        ([commissioned(), collected(), dismantled(), shipped(PACK)], "event_after_destruction"),
        ([commissioned(), collected(), dismantled(), serviced("INSPECTED")], "event_after_destruction"),
        ([commissioned(), assembled(MODULE, PACK)], "bad_hierarchy"),
        ([commissioned(), installed(b=SPARE)], "not_about_battery"),
    ],
)
def test_violations(events: list[Event], code: str) -> None:
    assert codes(events) == [code]


def test_cells_and_modules_are_not_installed() -> None:
    assert codes([commissioned(MODULE), installed(b=MODULE)], MODULE) == ["not_a_pack"]
    assert codes([commissioned(CELL), installed(b=CELL)], CELL) == ["not_a_pack"]


def test_child_hierarchy_is_checked_from_the_child_too() -> None:
    assert codes([commissioned(MODULE), assembled(CELL, MODULE)], MODULE) == ["bad_hierarchy"]
    assert codes([commissioned(CELL), assembled(CELL, CELL)], CELL) == ["bad_hierarchy"]


def test_replacement_checks() -> None:
    assert codes([serviced("REPLACED", replacement=SPARE)], SPARE) == ["not_commissioned"]
    assert codes([commissioned(SPARE), serviced("REPAIRED", replacement=SPARE)], SPARE) == ["replacement_mismatch"]
    assert codes([commissioned(SPARE), collected(SPARE), serviced("REPLACED", replacement=SPARE)], SPARE) == [
        "installed_after_collection"
    ]


def test_a_flagged_event_is_not_applied() -> None:
    state, violations = run([commissioned(), installed(VIN_A), installed(VIN_B), dismantled()])
    assert [v.code for v in violations] == ["already_installed", "recycled_without_collection"]
    assert (state.installed_in, state.destroyed, state.phase) == (VIN_A, False, "vehicle_integration")
    assert VIN_A in violations[0].detail and VIN_B in violations[0].detail


# --- state storage and replays ---------------------------------------------------------------------------


def test_json_round_trip() -> None:
    state = run([commissioned(), installed(), serviced("REFURBISHED")])[0]
    assert Lifecycle.from_json(state.to_json()) == state
    assert state.to_json() == dataclasses.asdict(state)  # the hand-written encoder misses no field
    assert Lifecycle.from_json(None) == NEW == Lifecycle.from_json({})
    assert Lifecycle.from_json({"phase": "service", "status": "original"}) == Lifecycle("service", "original")
    with pytest.raises(ValueError, match="not a lifecycle state"):
        Lifecycle.from_json({"phase": "scrapped"})


def test_phase_and_status_vocabulary_matches_stored_values() -> None:
    assert PHASES == ("manufacturing", "vehicle_integration", "service", "end_of_life", "recycling", "second_life")
    assert STATUSES == ("original", "repurposed", "re_used", "remanufactured", "waste")


ANY_EVENT = st.sampled_from(
    [
        commissioned(),
        installed(VIN_A),
        installed(VIN_B),
        *(serviced(a) for a in ("INSPECTED", "REPAIRED", "REFURBISHED")),
        serviced("REPLACED", replacement=SPARE),
        serviced("REPLACED", b=SPARE, replacement=PACK),
        collected(),
        dismantled(),
        energy(),
        assembled(PACK, MODULE),
        shipped(PACK, SPARE),
        repurposed(),
        repurposed(SPARE, PACK),
    ]
)


@given(st.lists(ANY_EVENT, max_size=25))
def test_any_sequence_is_deterministic_and_storable(events: list[Event]) -> None:
    state, violations = run(events)  # run() asserts that violations never change the state
    assert run(events) == (state, violations)
    assert Lifecycle.from_json(state.to_json()) == state
    assert state.phase in (None, *PHASES) and state.status in (None, *STATUSES)
    assert not state.destroyed or (state.phase, state.installed_in) == ("recycling", None)
    assert state.installed_in is None or state.installed_in == state.last_vin


@given(st.lists(ANY_EVENT, max_size=25))
def test_cross_key_events_never_change_the_state(events: list[Event]) -> None:
    state = NEW
    for kind, body in events:
        new, _ = step(state, kind, body, PACK)
        if cross_key(kind, body, PACK):  # only a second life may start a code that has no state yet
            assert new == state or (state == NEW and role_of(kind, body, PACK) == "successor")
        state = new


def test_the_simulated_story_in_time_order_has_no_violations() -> None:
    drafts = sorted(islice(Story(7).drafts(), 20_000), key=lambda d: d.record["event_time"])
    states: dict[str, Lifecycle] = defaultdict(lambda: NEW)
    seen: list[tuple[str, str, Violation]] = []
    kinds: set[str] = set()
    for d in drafts:
        if d.schema not in (MES_EVENT, LOGISTICS_EVENT):
            continue
        kind, body = kind_of(d.record), body_of(d.record)
        for entity in entities_of(d.schema, d.record):
            entity_type, battery = split_key(entity)
            if entity_type == "battery":
                states[battery], violation = step(states[battery], kind, body, battery)
                kinds.add(kind)
                if violation:
                    seen.append((kind, battery, violation))
    assert seen == []
    assert {"Commissioned", "Assembled", "VehicleIntegrated", "Serviced", "Dismantled"} <= kinds
    assert {s.phase for s in states.values()} >= {"manufacturing", "vehicle_integration", "recycling"}


# --- second life ----------------------------------------------------------------------------------------


def test_a_repurposed_pack_hands_its_life_to_the_new_code_and_both_keep_the_link() -> None:
    life = [commissioned(), installed(), collected(), repurposed()]
    original, violations = run(life)
    assert violations == []
    assert (original.phase, original.status, original.successor, original.installed_in) == (
        "second_life",
        "repurposed",
        SECOND,
        None,
    )
    new, violations = run([repurposed(), serviced("INSPECTED", b=SECOND), collected(SECOND)], SECOND)
    assert violations == []
    assert (new.status, new.predecessor, new.phase) == ("waste", PACK, "end_of_life")


def test_a_second_life_is_serviced_in_its_own_phase() -> None:
    state, violations = run([repurposed(), serviced("REPAIRED", b=SECOND)], SECOND)
    assert violations == [] and (state.phase, state.status) == ("second_life", "repurposed")


@pytest.mark.parametrize(
    ("events", "battery", "expected"),
    [
        ([commissioned(), installed(), repurposed(), serviced("INSPECTED")], PACK, ["event_after_repurposing"]),
        ([commissioned(), installed(), repurposed(), collected()], PACK, ["event_after_repurposing"]),
        ([commissioned(), installed(), repurposed(), repurposed()], PACK, ["event_after_repurposing"]),
        ([commissioned(), repurposed()], PACK, ["wrong_phase"]),
        ([commissioned(MODULE), repurposed(MODULE)], MODULE, ["not_a_pack"]),
        ([repurposed()], PACK, ["not_commissioned"]),
        ([commissioned(), installed(), collected(), dismantled(), repurposed()], PACK, ["event_after_destruction"]),
        ([commissioned(SECOND), repurposed()], SECOND, ["already_commissioned"]),
        ([repurposed(), installed(b=SECOND)], SECOND, ["wrong_phase"]),
        ([repurposed(), energy(SECOND)], SECOND, ["wrong_phase"]),
        ([serviced("INSPECTED", b=SECOND), repurposed()], SECOND, ["not_commissioned"]),
    ],
)
def test_impossible_second_lives_are_flagged(events: list[Event], battery: str, expected: list[str]) -> None:
    assert codes(events, battery) == expected


def test_the_new_code_is_reached_across_keys_and_may_start_a_third_life() -> None:
    assert role_of(*repurposed(), SECOND) == "successor" and cross_key(*repurposed(), SECOND)
    assert role_of(*repurposed(), PACK) == "subject" and not cross_key(*repurposed(), PACK)
    third = "X12PEPM27KLPCLX2M2382325"
    state, violations = run([repurposed(), repurposed(SECOND, third)], SECOND)
    assert violations == [] and (state.predecessor, state.successor) == (PACK, third)
