"""Events that arrive after a later event of their entity was applied: flagged with both times, chained anyway."""

from __future__ import annotations

from typing import Any

import msgspec

from battrace.domain.chain import event_hash
from battrace.domain.correlate import apply, new_state
from battrace.domain.entities import BATTERY, entity_key
from battrace.domain.lifecycle import ARRIVED_LATE, arrived_late, latest_applied
from schemas.catalog import MES_EVENT
from schemas.envelope import ChainItem, Envelope

CELL = "X12CEPM27KLPCLX2M2382323"
T0 = 1_767_571_200_000  # 2026-01-05T00:00:00Z


def test_the_rule_names_both_times_and_the_gap() -> None:
    assert arrived_late(None, T0, "EnergyUsed") is None  # nothing applied yet
    assert arrived_late(T0, T0, "EnergyUsed") is None  # the same instant is in order
    assert arrived_late(T0, T0 + 1, "EnergyUsed") is None
    late = arrived_late(T0 + 90_500, T0, "EnergyUsed")
    assert late is not None and late.code == ARRIVED_LATE
    assert late.detail == (
        "EnergyUsed of 2026-01-05T00:00:00.000Z arrived after an event of 2026-01-05T00:01:30.500Z was applied "
        "(90.5 s later)"
    )
    assert latest_applied(None, T0) == T0
    assert latest_applied(T0 + 5, T0) == T0 + 5  # a late event does not move the latest time back
    assert latest_applied(T0, T0 + 5) == T0 + 5


Spec = tuple[int, str, int, dict[str, Any]]


def _item(offset: int, spec: Spec) -> ChainItem:
    """Event e<i> arriving at source offset ``offset`` (arrival order)."""
    i, kind, t, body = spec
    record = {"event_id": f"e{i}", "event_time": t, "site_id": "S", "body": [f"battrace.mes.{kind}", body]}
    key = entity_key(BATTERY, CELL)
    source = ("mes.events", 0, offset, t)
    ev = Envelope(f"e{i}", MES_EVENT, kind, t, source, event_hash(f"e{i}".encode()), record, [key])
    return ChainItem(key, ("mes.events", 0, offset), ev)


def _energy(i: int, t: int) -> Spec:
    body = {"battery_id": CELL, "step": "formation", "energy_kwh": 1.0, "grid_factor_kg_per_kwh": 0.5}
    return i, "EnergyUsed", t, body


COMMISSIONED = {
    "battery_id": CELL,
    "chemistry": "LFP",
    "model": "C",
    "capacity_ah": 100.0,
    "energy_kwh": 0.3,
    "mass_kg": 2.0,
    "certification_number": "",
    "sgtin": None,
}


def _run(specs: list[Spec]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Apply the events in the order given, as they would arrive."""
    state, flags = new_state(entity_key(BATTERY, CELL)), []
    for n, spec in enumerate(specs):
        out = apply(state, _item(n, spec), "log", n, 0)
        assert out.sealed is not None  # a late event is still chained
        flags += out.flags
    return flags, state


ITEMS = [
    (1, "Commissioned", T0, COMMISSIONED),
    _energy(2, T0 + 60_000),
    _energy(3, T0 + 30_000),  # late: 30 s before e2
    _energy(4, T0 + 60_000),  # same instant as e2: in order
    _energy(5, T0 + 45_000),  # late against e2 still (e3 did not move the latest time back)
]


def test_late_events_are_flagged_in_arrival_order_and_still_applied() -> None:
    flags, state = _run(ITEMS)
    late = [(f["event_id"], f["category"], f["code"], f["seq"]) for f in flags if f["code"] == ARRIVED_LATE]
    assert late == [("e3", "lifecycle", ARRIVED_LATE, 3), ("e5", "lifecycle", ARRIVED_LATE, 5)]
    assert "00:00:30.000Z arrived after an event of 2026-01-05T00:01:00.000Z" in flags[0]["detail"]
    assert state["seq"] == 5 and state["latest_ms"] == T0 + 60_000


def test_in_time_order_nothing_is_late_and_a_replay_flags_the_same() -> None:
    in_order = sorted(ITEMS, key=lambda spec: spec[2])
    assert [f for f in _run(in_order)[0] if f["code"] == ARRIVED_LATE] == []
    assert repr(_run(ITEMS)) == repr(_run(ITEMS))


def test_an_event_carried_under_another_entitys_key_is_not_judged_and_moves_nothing() -> None:
    """A module's Assembled reaches its cells' chains from the module's partition: its time against a cell's own
    events says nothing about the source, so it is chained without a flag and the cell's latest time stays."""
    state = new_state(entity_key(BATTERY, CELL))
    apply(state, _item(0, (1, "Commissioned", T0, COMMISSIONED)), "log", 0, 0)
    apply(state, _item(1, _energy(2, T0 + 60_000)), "log", 1, 0)
    i, kind, t, body = _energy(3, T0 + 10_000)
    carried = _item(2, (i, kind, t, body))
    module_first = msgspec.structs.replace(carried.envelope, entities=[entity_key(BATTERY, "MODULE-1"), carried.entity])
    out = apply(state, carried._replace(envelope=module_first), "log", 2, 0)
    assert out.sealed is not None and out.flags == [] and state["latest_ms"] == T0 + 60_000
    out = apply(state, _item(3, _energy(4, T0 + 20_000)), "log", 3, 0)  # its own late event is still judged
    assert [f["code"] for f in out.flags] == [ARRIVED_LATE]
