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
from pathlib import Path

COMPONENTS = ("seal", "ingest", "clickhouse", "worker_threads", "broker")
_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _stat(path: Path) -> tuple[str, float]:
    """A process's or thread's name and its user + system CPU seconds (``proc(5)``: fields 14 and 15)."""
    text = path.read_text()
    name, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
    return name, (int(rest[11]) + int(rest[12])) / _TICKS_PER_S


def children(pid: int) -> list[int]:
    """The descendants of a process (a worker runs its ingest stage in a child process)."""
    out, todo = [], [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                found = [int(c) for c in task.read_text().split()]
                out += found
                todo += found
    return out


def process_seconds(pid: int) -> float:
    """CPU seconds of a process, including its ended threads; 0.0 once it is gone."""
    try:
        return _stat(Path(f"/proc/{pid}/stat"))[1]
    except OSError:
        return 0.0


def worker_seconds(pid: int) -> dict[str, float]:
    """A worker's CPU seconds so far, split into the components above (all but ``broker``); zeros once it is gone."""
    split = dict.fromkeys(COMPONENTS[:-1], 0.0)
    try:
        total = _stat(Path(f"/proc/{pid}/stat"))[1]
        interpreter, split["seal"] = _stat(Path(f"/proc/{pid}/task/{pid}/stat"))
        for task in Path(f"/proc/{pid}/task").iterdir():
            if task.name != str(pid):
                with contextlib.suppress(OSError):  # the thread ended meanwhile: its time is in the total
                    name, seconds = _stat(task / "stat")
                    if name == interpreter:
                        split["worker_threads"] += seconds
    except OSError:
        return split
    split["clickhouse"] = max(0.0, total - split["seal"] - split["worker_threads"])
    split["ingest"] = sum(process_seconds(child) for child in children(pid))
    return split


def sample(workers: list[int], broker: int | None) -> dict[str, float]:
    """CPU seconds so far of every component, summed over the workers."""
    out = dict.fromkeys(COMPONENTS, 0.0)
    for pid in workers:
        for component, seconds in worker_seconds(pid).items():
            out[component] += seconds
    out["broker"] = process_seconds(broker) if broker else 0.0
    return out


def between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {c: max(0.0, after[c] - before[c]) for c in COMPONENTS}
