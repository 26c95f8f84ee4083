"""Which states are finished, their tombstones, and the checks a state read back from the store must pass."""

from __future__ import annotations

import pytest

from battrace.domain.correlate import new_state
from battrace.domain.finished import (
    DELIVERED,
    DESTROYED,
    EvictedStateMismatch,
    applied_offsets,
    check_rebuilt,
    finished,
    horizon_ms,
    is_tombstone,
    tombstone,
)

DAY = horizon_ms(1)
T0 = 1_767_000_000_000


def battery(destroyed: bool) -> dict:
    state = new_state("battery:MJ1PEPB1000001T150000027")
    state["lifecycle"] = {"phase": "recycling" if destroyed else "end_of_life", "destroyed": destroyed}
    return state


def shipment(status: str) -> dict:
    state = new_state("shipment:CONS-000001")
    state.update(status=status, updated_at=T0 + 99 * DAY)  # a report step's time, when it was drafted: not the clock
    return state


def test_a_destroyed_battery_is_finished_at_once_and_a_battery_still_in_use_never() -> None:
    assert finished(battery(destroyed=True), newest_ms=0, horizon=30 * DAY) == DESTROYED
    assert finished(battery(destroyed=False), newest_ms=T0 + 999 * DAY, horizon=30 * DAY) is None
    assert finished(new_state("battery:MJ1PEPB1000001T150000027"), T0, 30 * DAY) is None  # never commissioned


def test_a_delivered_consignment_is_finished_only_past_the_horizon_of_its_delivery() -> None:
    delivered = shipment("delivered")
    assert finished(delivered, newest_ms=T0 + 30 * DAY, horizon=30 * DAY, delivered_ms=T0) is None  # not more than
    assert finished(delivered, newest_ms=T0 + 30 * DAY + 1, horizon=30 * DAY, delivered_ms=T0) == DELIVERED
    assert finished(delivered, newest_ms=T0 + 999 * DAY, horizon=30 * DAY) is None  # its delivery time unknown
    assert finished(shipment("in_transit"), newest_ms=T0 + 999 * DAY, horizon=30 * DAY, delivered_ms=T0) is None


def test_lots_and_parties_stay_and_a_zero_horizon_turns_eviction_off() -> None:
    lot = {**new_state("lot:06901234000429.LOT-000009"), "status": "delivered", "lifecycle": {"destroyed": True}}
    assert finished(lot, newest_ms=T0 + 999 * DAY, horizon=DAY, delivered_ms=T0) is None
    assert finished(new_state("party:CN-DSM-001"), newest_ms=T0 + 999 * DAY, horizon=DAY) is None
    assert horizon_ms(0) == 0
    assert finished(battery(destroyed=True), newest_ms=T0, horizon=0) is None
    assert finished(shipment("delivered"), newest_ms=T0 + 999 * DAY, horizon=0, delivered_ms=T0) is None


def test_a_tombstone_keeps_the_head_and_the_applied_offsets_is_never_empty_and_is_not_evicted_again() -> None:
    state = battery(destroyed=True)
    state.update(seq=7, head="ab" * 32, applied={"mes.events:1": 42}, chemistry="LFP", children=["x"])
    stone = tombstone(state, DESTROYED)
    assert stone == {
        "evicted": DESTROYED,
        "type": "battery",
        "id": "MJ1PEPB1000001T150000027",
        "seq": 7,
        "head": "ab" * 32,
        "applied": {"mes.events:1": 42},
    }
    assert is_tombstone(stone) and not is_tombstone(state) and not is_tombstone(None)
    assert finished(stone, newest_ms=T0, horizon=DAY) is None
    state["applied"]["mes.events:1"] = 43
    assert stone["applied"] == {"mes.events:1": 42}  # its own copy


def test_applied_offsets_are_the_newest_offset_per_source_partition() -> None:
    sources = [("mes.events", 0, 5), ("mes.events", 1, 3), ("mes.events", 0, 9), ("logistics.events", 0, 2)]
    assert applied_offsets(sources) == {"mes.events:0": 9, "mes.events:1": 3, "logistics.events:0": 2}
    assert applied_offsets([]) == {}


@pytest.mark.parametrize(
    ("key", "value"), [("seq", 6), ("head", "cd" * 32), ("applied", {"mes.events:1": 41})], ids=str
)
def test_a_rebuilt_state_that_does_not_end_at_its_tombstone_is_refused_naming_the_entity(key, value) -> None:
    state = battery(destroyed=True)
    state.update(seq=7, head="ab" * 32, applied={"mes.events:1": 42})
    stone = tombstone(state, DESTROYED)
    check_rebuilt("battery:MJ1PEPB1000001T150000027", state, stone)  # equal: accepted
    with pytest.raises(EvictedStateMismatch, match=f"battery:MJ1PEPB1000001T150000027: .* has {key} "):
        check_rebuilt("battery:MJ1PEPB1000001T150000027", {**state, key: value}, stone)


def test_a_consignments_tombstone_keeps_its_delivery_time_to_leave_again_once_read_back() -> None:
    state = shipment("delivered")
    stone = tombstone(state, DELIVERED, delivered_ms=T0)
    assert stone["delivered_ms"] == T0 and stone["evicted"] == DELIVERED
    assert "delivered_ms" not in tombstone(battery(destroyed=True), DESTROYED)
