"""Offer -> sealed latency: a paced producer that records when each event was offered, and percentiles of the
time until every trace.chain pack carrying it was committed.
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

from rich.progress import Progress

from battrace.runs.bench_error import BenchError
from battrace.runs.commit_clock import CommitClock
from battrace.runs.topic_reads import PackAt
from streams import topics
from streams.producer import EventProducer
from streams.simulator import SimEvent


def offer_paced(
    bootstrap: str, events: list[SimEvent], rate: float, progress: Progress
) -> tuple[int, dict[str, float]]:
    """Send at ``rate`` events/s; returns the delivered count and the offer time of every valid event id."""
    task = progress.add_task(f"offer {rate:g}/s", total=len(events))
    offered: dict[str, float] = {}
    start = time.time()
    with EventProducer(bootstrap) as producer:
        for i, ev in enumerate(events):
            delay = start + i / rate - time.time()
            if delay > 0:
                time.sleep(delay)
            now = time.time()
            producer.send_raw(ev.topic, ev.key, ev.value, ev.timestamp_ms)
            if ev.expected_reason is None:
                offered.setdefault(ev.event_id, now)
            if i % 50 == 0:
                progress.update(task, completed=i)
    progress.update(task, completed=len(events))
    return producer.delivered, offered


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: an observed value, so p50 <= p99 always holds."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


class Latencies(NamedTuple):
    """Per offered event that was sealed: offer -> sealed (every pack carrying it committed on trace.chain), and
    the share of it until the ingest stage sent its last pack (the rest is the seal stage's)."""

    sealed_ms: list[float]
    ingested_ms: list[float]


def latencies_ms(
    sealed: set[str], positions: dict[str, dict[int, PackAt]], offered: dict[str, float], clock: CommitClock
) -> Latencies:
    latencies, missing = Latencies([], []), 0
    for event_id in sealed & offered.keys():
        packs = positions.get(event_id, {})
        times = [clock.committed_at((topics.CHAIN.name, p), at.offset + 1) for p, at in packs.items()]
        if not times or None in times:
            missing += 1
            continue
        latencies.sealed_ms.append((max(t for t in times if t is not None) - offered[event_id]) * 1000)
        latencies.ingested_ms.append((max(at.created_s for at in packs.values()) - offered[event_id]) * 1000)
    if missing:
        raise BenchError(f"{missing} sealed events lie beyond every committed trace.chain offset seen")
    return latencies
