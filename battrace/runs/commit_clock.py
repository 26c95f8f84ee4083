"""The pipeline's progress as the bench sees it: when each committed offset moved, and CPU per component.

Polled in a thread, never from chDB: a worker holds the store while it runs, and it commits an offset only after
ClickHouse acknowledged the rows behind it, so a committed offset is a sealed (or rejected) event.
"""

from __future__ import annotations

import contextlib
import threading
import time
from bisect import bisect_left

from confluent_kafka import Consumer
from confluent_kafka import TopicPartition as ConfluentTP

from battrace.runs import cpu_budget
from battrace.runs.bench_error import BenchError
from battrace.stack.worker import WorkerProcess
from streams.kafka import client_config

POLL_S = 0.1  # resolution of the commit clock


TP = tuple[str, int]


class CommitClock:
    """Polls, in a thread, the pipeline group's committed offsets (recording when each one moved) and the
    CPU time of the ``workers`` and the broker, per component."""

    def __init__(self, bootstrap: str, groups: dict[str, list[TP]], ends_of: list[TP] = ()) -> None:  # type: ignore[assignment]
        self.groups = groups
        self.timeline: dict[TP, list[tuple[float, int]]] = {tp: [] for tps in groups.values() for tp in tps}
        # ``ends_of``: partitions whose end offset is recorded too (when each one moved)
        self.ends: dict[TP, list[tuple[float, int]]] = {tp: [] for tp in ends_of}
        self.workers: list[cpu_budget.WorkerCpu] = []
        self.broker_pid: int | None = None
        self.cpu: list[tuple[float, dict[str, float]]] = []  # (time, CPU seconds so far per component)
        self._consumers = {
            group: Consumer(client_config(bootstrap, **{"group.id": group, "enable.auto.commit": False}))
            for group in groups
        }
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="commit-clock", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            parts = []
            for group, tps in self.groups.items():
                with contextlib.suppress(Exception):  # a slow broker answer only costs one sample
                    parts += self._consumers[group].committed([ConfluentTP(t, p) for t, p in tps], timeout=5)
            now = time.time()
            if self.workers:
                self.cpu.append((now, cpu_budget.sample(self.workers, self.broker_pid)))
            for tp in parts:
                line = self.timeline[(tp.topic, tp.partition)]
                if tp.offset >= 0 and (not line or tp.offset > line[-1][1]):
                    line.append((now, tp.offset))
            self._record_ends(now)
            self._stop.wait(POLL_S)

    def _record_ends(self, now: float) -> None:
        consumer = next(iter(self._consumers.values()), None)
        for (topic, partition), line in self.ends.items():
            if consumer is None:
                return
            with contextlib.suppress(Exception):
                _, end = consumer.get_watermark_offsets(ConfluentTP(topic, partition), timeout=5, cached=False)
                if not line or end > line[-1][1]:
                    line.append((now, end))

    def end_at(self, tp: TP, when: float) -> int:
        """The partition's end offset as last seen at or before ``when`` (0 if never seen by then)."""
        seen = [end for t, end in self.ends[tp] if t <= when]
        return seen[-1] if seen else 0

    def committed_at(self, tp: TP, offset: int) -> float | None:
        """First time the committed offset of ``tp`` was seen at or past ``offset``."""
        line = self.timeline[tp]
        i = bisect_left([o for _, o in line], offset)
        return line[i][0] if i < len(line) else None

    def cpu_between(self, start: float, end: float) -> dict[str, float]:
        """CPU seconds per component spent between two times (the samples nearest before each)."""
        times = [t for t, _ in self.cpu]
        lo, hi = bisect_left(times, start) - 1, bisect_left(times, end) - 1
        zero = dict.fromkeys(cpu_budget.COMPONENTS, 0.0)
        if hi < 0:
            return zero
        return cpu_budget.between(self.cpu[lo][1] if lo >= 0 else zero, self.cpu[hi][1])

    def __enter__(self) -> CommitClock:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for consumer in self._consumers.values():
            consumer.close()


def done_at(clock: CommitClock, final: dict[TP, int]) -> float:
    """When the last of the final committed offsets was first seen."""
    times = [clock.committed_at(tp, off) for tp, off in final.items() if off > 0]
    if not times or None in times:
        raise BenchError("the commit clock missed the final commits")
    return max(t for t in times if t is not None)


def first_commit(clock: CommitClock, workers: list[WorkerProcess], timeout_s: float = 300) -> bool:
    """Wait until the workers committed something: start-up is over, the profile should not show imports."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and all(w.alive() for w in workers):
        if any(clock.timeline.values()):
            return True
        time.sleep(0.05)
    return False
