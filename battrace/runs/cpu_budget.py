"""Where a bench run's CPU goes, per component, from Linux's per-thread counters (``/proc/<pid>/task``).

Throughput on this machine is bounded by its two cores, so the question after "how fast" is "whose CPU": the
seal stage's event loop, the ingest process, the embedded ClickHouse engine, or the broker. The components:

- ``seal``: the worker's main thread (Faust's event loop: the seal stage, its consumers and changelog writes);
- ``worker_threads``: the worker's other Python threads (the ClickHouse writer's Python side, report queries),
  told apart by name: a thread Python starts keeps the interpreter's name, chDB names its own threads;
- ``clickhouse``: the rest of the worker process (chDB's insert, query and merge threads, and any thread that
  has ended: a process's counter keeps the time of its ended threads, a thread's own counter goes with it);
- ``ingest``: the worker's child processes (the ingest stage);
- ``broker``: the broker process.
"""

from __future__ import annotations

import contextlib
import os

COMPONENTS = ("seal", "ingest", "clickhouse", "worker_threads", "broker")
_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(path: str) -> tuple[str, float]:
    """A process's or thread's name and its user + system CPU seconds (``proc(5)``: fields 14 and 15)."""
    with open(path, "rb") as f:
        text = f.read()
    close = text.rindex(b")")
    fields = text[close + 2 :].split()
    return text[text.index(b"(") + 1 : close].decode(errors="replace"), (int(fields[11]) + int(fields[12])) / _TICKS


def children(pid: int) -> list[int]:
    """The descendants of a process (a worker runs its ingest stage in a child process)."""
    out, todo = [], [pid]
    while todo:
        parent = todo.pop()
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{parent}/task"):
                with contextlib.suppress(OSError), open(f"/proc/{parent}/task/{tid}/children", "rb") as f:
                    found = [int(c) for c in f.read().split()]
                    out += found
                    todo += found
    return out


def process_seconds(pid: int) -> float:
    """CPU seconds of a process, including its ended threads; 0.0 once it is gone."""
    try:
        return _stat(f"/proc/{pid}/stat")[1]
    except OSError:
        return 0.0


class WorkerCpu:
    """A worker's CPU seconds so far, split into the components above (all but ``broker``), cheaply enough to read
    ten times a second: a thread once seen under an engine's name is not read again (its time is in the process
    total), and the child processes are looked up every ``CHILDREN_EVERY`` reads (they start once)."""

    CHILDREN_EVERY = 10

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._engine_threads: set[str] = set()
        self._children: list[int] = []
        self._reads = 0

    def seconds(self) -> dict[str, float]:
        """Zeros once the worker is gone."""
        split = dict.fromkeys(COMPONENTS[:-1], 0.0)
        try:
            total = _stat(f"/proc/{self.pid}/stat")[1]
            interpreter, split["seal"] = _stat(f"/proc/{self.pid}/task/{self.pid}/stat")
            tids = os.listdir(f"/proc/{self.pid}/task")
        except OSError:
            return split
        for tid in tids:
            if tid != str(self.pid) and tid not in self._engine_threads:
                with contextlib.suppress(OSError):  # the thread ended meanwhile: its time is in the total
                    name, seconds = _stat(f"/proc/{self.pid}/task/{tid}/stat")
                    if name == interpreter:
                        split["worker_threads"] += seconds
                    else:
                        self._engine_threads.add(tid)
        split["clickhouse"] = max(0.0, total - split["seal"] - split["worker_threads"])
        if self._reads % self.CHILDREN_EVERY == 0:
            self._children = children(self.pid)
        self._reads += 1
        split["ingest"] = sum(process_seconds(child) for child in self._children)
        return split


def sample(workers: list[WorkerCpu], broker: int | None) -> dict[str, float]:
    """CPU seconds so far of every component, summed over the workers."""
    out = dict.fromkeys(COMPONENTS, 0.0)
    for worker in workers:
        for component, seconds in worker.seconds().items():
            out[component] += seconds
    out["broker"] = process_seconds(broker) if broker else 0.0
    return out


def between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {c: max(0.0, after[c] - before[c]) for c in COMPONENTS}
