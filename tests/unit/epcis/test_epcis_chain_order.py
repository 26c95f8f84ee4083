"""A whole-store export lists events so that every chain's events come in chain order, earliest first otherwise."""

from __future__ import annotations

import dataclasses
import random

from simulated_events import sealed_sample

from battrace.epcis.chain_order import chain_order
from battrace.epcis.sealed_event import Seal, SealedEvent


def _event(event_id: str, time: int, *seals: tuple[str, int]) -> SealedEvent:
    record = {"event_id": event_id, "event_time": time}
    return SealedEvent("s", "k", record, "h", tuple(Seal(e, q, "c", "l", 0) for e, q in seals))


def _ids(events: list[SealedEvent]) -> list[str]:
    return [e.record["event_id"] for e in events]


def test_a_chain_sealed_out_of_event_time_order_keeps_its_order() -> None:
    late_first = _event("a", 300, ("battery:X", 1), ("lot:L", 1))
    early_second = _event("b", 100, ("battery:X", 2))
    unrelated = _event("c", 200, ("battery:Y", 1))
    lot_next = _event("d", 50, ("lot:L", 2))
    assert _ids(chain_order([early_second, lot_next, unrelated, late_first])) == ["c", "a", "d", "b"]


def test_without_constraints_the_order_is_event_time_then_id() -> None:
    events = [_event(str(i), t, (f"battery:{i}", 1)) for i, t in enumerate([5, 3, 3, 9, 1])]
    assert _ids(chain_order(events)) == ["4", "1", "2", "0", "3"]


def test_events_caught_in_a_cycle_still_come_out_once_each_by_event_time() -> None:
    first = _event("x", 10, ("battery:A", 1), ("battery:B", 2))
    second = _event("y", 20, ("battery:A", 2), ("battery:B", 1))
    free = _event("z", 30, ("battery:C", 1))
    assert _ids(chain_order([second, free, first])) == ["z", "x", "y"]


def _chains_in_seq_order(events: list[SealedEvent]) -> bool:
    last: dict[str, int] = {}
    for event in events:
        for seal in event.seals:
            if seal.seq != last.get(seal.entity, 0) + 1:
                return False
            last[seal.entity] = seal.seq
    return True


def test_the_simulated_store_comes_out_with_every_chain_in_seq_order_whatever_its_event_times() -> None:
    events = list(sealed_sample()[0])
    shuffled = events[:]
    random.Random(3).shuffle(shuffled)
    assert not _chains_in_seq_order(shuffled)
    ordered = chain_order(shuffled)
    assert sorted(_ids(ordered)) == sorted(_ids(events)) and _chains_in_seq_order(ordered)
    reversed_times = [
        dataclasses.replace(e, record={**e.record, "event_time": -e.record["event_time"]}) for e in events
    ]
    assert _chains_in_seq_order(chain_order(reversed_times))
