"""How far each stage of the worker is behind its input: per consumer group and topic, end offsets minus commits.

Each stage commits only what it stored, so its committed offsets say what is done. Read with the broker's
reported end offsets (its high watermarks); Tansu's can trail the true end by the tail of the last record batch
(battrace/stack/worker.py true_end_offsets), so on Tansu a lag can read a few messages low, never high. Read at
scrape time, at most every ``max_age_s`` (a scrape costs a handful of broker requests), from the scrape's thread:
the clients are blocking ones and stay off the worker's event loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from battrace.settings import Settings
from processors.metrics import TopicLag
from streams import topics
from streams.kafka import committed_offsets, end_offsets

Offsets = dict[tuple[str, int], int]


def stage_groups(settings: Settings) -> dict[str, tuple[str, list[str]]]:
    """Stage -> (its consumer group, the topics it commits): ingest reads the sources, the Faust app (seal stage) the
    chain, the rejects sink the rejects and the report stage the deliveries."""
    return {
        "ingest": (settings.ingest_group, [t.name for t in topics.SOURCES]),
        "seal": (settings.app_id, [topics.CHAIN.name]),
        "rejects": (settings.rejects_group, [topics.REJECTS.name]),
        "reports": (settings.report_group, [topics.DELIVERIES.name]),
    }


def topic_lags(
    stages: dict[str, tuple[str, list[str]]],
    ends: Offsets,
    committed: Callable[[str, list[tuple[str, int]]], Offsets],
) -> list[TopicLag]:
    """Per stage and topic, the sums of committed and end offsets over the topic's partitions (a partition without a
    commit counts 0 committed); ``committed(group, partitions)`` gives a group's commits (-1: none)."""
    out = []
    for stage, (group, names) in stages.items():
        wanted = [tp for tp in ends if tp[0] in names]
        done = committed(group, wanted)
        for name in names:
            parts = [tp for tp in wanted if tp[0] == name]
            end = sum(ends[tp] for tp in parts)
            # A commit past the reported end (Tansu's watermark trailing its data) counts as the end: no negative lag.
            at = sum(min(max(done.get(tp, -1), 0), ends[tp]) for tp in parts)
            out.append(TopicLag(stage, group, name, at, end))
    return out


class LagReader:
    """``read()``: the worker's lag per stage and topic from the broker, cached for ``max_age_s``."""

    def __init__(self, settings: Settings, max_age_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.bootstrap = settings.kafka or "localhost:9092"
        self.stages = stage_groups(settings)
        self.max_age_s, self.clock = max_age_s, clock
        self._lock = threading.Lock()
        self._read_at = -max_age_s - 1
        self._last: list[TopicLag] = []

    def read(self) -> list[TopicLag]:
        with self._lock:  # two scrapes at once share one reading
            if self.clock() - self._read_at > self.max_age_s:
                names = [name for _, names in self.stages.values() for name in names]
                ends = end_offsets(self.bootstrap, names, timeout_s=5)
                self._last = topic_lags(
                    self.stages, ends, lambda group, tps: committed_offsets(self.bootstrap, group, tps, timeout_s=5)
                )
                self._read_at = self.clock()
            return self._last
