"""The order of a whole-store export: every entity's chain order kept, earliest event time first where they leave a
choice.

An event extends several chains (a cell and the lots it consumed, a consignment and what it carries), and a chain
holds its events in the order they were sealed, which need not be event-time order (sources publish on different
topics and partitions). A document listing the events so that each chain's events come in chain order is one that a
capture on a single partition (battrace/epcis/capture_message.py) seals into the same chains, seq for seq. A worker's
ingest seals in one total order, so these constraints never form a cycle; events caught in one anyway (chains written
by several ingest processes at once) follow in event-time order.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from itertools import pairwise

from battrace.epcis.sealed_event import SealedEvent


def _time_key(event: SealedEvent) -> tuple[int, str]:
    return event.record["event_time"], event.record["event_id"]


def chain_order(events: list[SealedEvent]) -> list[SealedEvent]:
    """``events`` in an order consistent with every chain's seq order (Kahn's algorithm, by event time)."""
    chains: dict[str, list[tuple[int, int]]] = defaultdict(list)  # entity -> (seq, index of its event)
    for index, event in enumerate(events):
        for seal in event.seals:
            chains[seal.entity].append((seal.seq, index))
    after: dict[int, set[int]] = defaultdict(set)
    for links in chains.values():
        links.sort()
        for (_, earlier), (_, later) in pairwise(links):
            if earlier != later:
                after[earlier].add(later)
    waiting = [0] * len(events)
    for successors in after.values():
        for later in successors:
            waiting[later] += 1
    ready = [(_time_key(events[i]), i) for i in range(len(events)) if waiting[i] == 0]
    heapq.heapify(ready)
    ordered: list[int] = []
    while ready:
        _, index = heapq.heappop(ready)
        ordered.append(index)
        for later in after[index]:
            waiting[later] -= 1
            if waiting[later] == 0:
                heapq.heappush(ready, (_time_key(events[later]), later))
    placed = set(ordered)
    rest = sorted((i for i in range(len(events)) if i not in placed), key=lambda i: _time_key(events[i]))
    return [events[i] for i in [*ordered, *rest]]
