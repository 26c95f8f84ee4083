"""Run Faust workers as child processes, and tell when the pipeline has caught up with its input."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from battrace.settings import Settings
from battrace.stack.process import kill_group, spawn, stop_group
from battrace.tlog import Checkpoint
from battrace.tlog.note import parse_note
from battrace.verify.witness_quorum import WitnessQuorum
from processors.broker import BROKER_ENV, TANSU
from processors.consumer_lag import stage_groups
from streams import topics
from streams.kafka import client_config, committed_offsets, consume_until_quiet, end_offsets


class WorkerError(RuntimeError):
    pass


class WorkerProcess:
    """``python -m processors worker``; always stopped on exit (SIGTERM, then SIGKILL)."""

    def __init__(self, settings: Settings, bootstrap: str, log_path: Path, tansu: bool | None = None) -> None:
        """``tansu``: the broker at ``bootstrap`` is Tansu (default: when the settings name no external Kafka)."""
        self.settings = settings
        self.bootstrap = bootstrap
        self.log_path = log_path
        self.tansu = not settings.kafka if tansu is None else tansu
        self.proc: subprocess.Popen[bytes] | None = None

    def environment(self) -> dict[str, str]:
        """The worker's environment: this one, then every setting as the variable it is read from (one definition),
        secrets as their real value, since the environment is the worker's only input. Never to be printed."""
        env = dict(os.environ)
        env.update(self.settings.environment())
        env.update(BATTRACE_KAFKA=self.bootstrap, BATTRACE_HOME=str(self.settings.home.resolve()))
        # BATTRACE_KAFKA now names the broker either way: say whether it is Tansu, which decides the worker's Tansu
        # workarounds (processors/broker.py).
        env.pop(BROKER_ENV, None)
        if self.tansu:
            env[BROKER_ENV] = TANSU
        return env

    def start(self) -> WorkerProcess:
        env = self.environment()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = spawn(
                [
                    sys.executable,
                    "-m",
                    "processors",
                    "worker",
                    "--without-web",  # the CLI default would override web_enabled=False and bind 0.0.0.0:6066
                    "--loglevel",
                    os.environ.get("BATTRACE_WORKER_LOGLEVEL", "warn"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would: no commit, no flush."""
        kill_group(self.proc)

    def stop(self, timeout_s: float = 30) -> None:
        proc, self.proc = self.proc, None
        stop_group(proc, timeout_s)

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def true_end_offsets(
    bootstrap: str, topic_names: Iterable[str], quiet_s: float = 0.5, tansu: bool = True, max_s: float = 30.0
) -> dict[tuple[str, int], int]:
    """End offsets read from the data itself on Tansu; Kafka's high watermarks elsewhere.

    Tansu 0.6 reports a partition's high watermark as the base offset of its last record batch + 1,
    so a multi-record last batch hides its tail. Reading from (reported - 1) to the end finds the real one.
    Apache Kafka's high watermark is the offset after the last replicated record, as documented: the end.
    The tail is read until ``quiet_s`` passes without a record, ``max_s`` at most (the callers poll again).
    """
    reported = end_offsets(bootstrap, topic_names)
    if not tansu:
        return reported
    tail = {tp: high for tp, high in reported.items() if high > 0}
    if not tail:
        return reported
    consumer = Consumer(client_config(bootstrap, **{"group.id": "battrace-tail", "enable.auto.commit": False}))
    try:
        consumer.assign([TopicPartition(t, p, high - 1) for (t, p), high in tail.items()])
        true_end = dict(reported)
        for m in consume_until_quiet(consumer, quiet_s, max_s):
            key = (m.topic(), m.partition())
            true_end[key] = max(true_end[key], m.offset() + 1)
        return true_end
    finally:
        consumer.close()


def broker_is_tansu(tansu: bool | None, worker: WorkerProcess | None) -> bool:
    """Whether the waits below read Tansu's true ends: as said, else as the worker's broker is, else yes (reading
    the tail costs a moment on Kafka and finds the watermark it reported)."""
    if tansu is not None:
        return tansu
    return worker.tansu if worker is not None else True


def consumed_topics(settings: Settings) -> dict[str, list[str]]:
    """Consumer group -> the topics it commits (processors/consumer_lag.py names each group's stage)."""
    return dict(stage_groups(settings).values())


def committed_by_groups(
    bootstrap: str, groups: dict[str, list[str]], tps: Iterable[tuple[str, int]] | None = None
) -> dict[tuple[str, int], int]:
    """Committed offset per partition of every group's topics (-1 when nothing was committed); ``tps``: only
    these partitions (default: every partition of the groups' topics)."""
    names = [name for topic_names in groups.values() for name in topic_names]
    wanted = list(tps) if tps is not None else list(end_offsets(bootstrap, names))
    out: dict[tuple[str, int], int] = {}
    for group, topic_names in groups.items():
        out.update(committed_offsets(bootstrap, group, [tp for tp in wanted if tp[0] in topic_names]))
    return out


def wait_until_caught_up(
    bootstrap: str,
    groups: dict[str, list[str]],
    worker: WorkerProcess | None = None,
    timeout_s: float = 600,
    on_progress: Callable[[int, int], None] | None = None,
    tansu: bool | None = None,
) -> None:
    """Block until each group has committed every message of its topics (twice in a row, to let
    in-flight sends of an upstream stage land); ``groups``: see consumed_topics; ``tansu``: see broker_is_tansu."""
    deadline = time.monotonic() + timeout_s
    stable = 0
    lagging: dict[tuple[str, int], tuple[int, int]] = {}
    while time.monotonic() < deadline:
        if worker is not None and not worker.alive():
            raise WorkerError(f"the worker exited early; see {worker.log_path}")
        names = [name for names in groups.values() for name in names]
        ends = true_end_offsets(bootstrap, names, tansu=broker_is_tansu(tansu, worker))
        done = committed_by_groups(bootstrap, groups, ends)
        total = sum(ends.values())
        committed = sum(min(max(done.get(tp, 0), 0), end) for tp, end in ends.items())
        lagging = {tp: (done.get(tp, -1), end) for tp, end in ends.items() if done.get(tp, -1) < end}
        if on_progress:
            on_progress(committed, total)
        stable = stable + 1 if committed == total else 0
        if stable >= 2:
            return
        time.sleep(0.5)
    behind = ", ".join(f"{t}[{p}] committed {c} of {e}" for (t, p), (c, e) in sorted(lagging.items()))
    raise WorkerError(f"the pipeline did not catch up within {timeout_s:.0f} s; behind: {behind}")


def topic_keys(bootstrap: str, topic: str, quiet_s: float = 0.5) -> set[str]:
    """The keys (utf-8) of every message in ``topic``, read from the beginning until it has been quiet a while."""
    consumer = Consumer(client_config(bootstrap, **{"group.id": "battrace-keys", "enable.auto.commit": False}))
    keys: set[str] = set()
    try:
        meta = consumer.list_topics(topic, timeout=10)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.topics[topic].partitions])
        keys.update(m.key().decode("utf-8", "replace") for m in consume_until_quiet(consumer, quiet_s) if m.key())
        return keys
    finally:
        consumer.close()


def wait_until_reported(
    expected: set[str],
    delivered: Callable[[], set[str]],
    reports_committed: Callable[[], bool],
    worker: WorkerProcess | None = None,
    timeout_s: float = 120,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Block until every ``expected`` consignment has its delivery on trace.deliveries and the report stage has
    committed every delivery there (it commits only what it stored).

    The catch-up check alone is not enough: the seal stage acknowledges its input once the delivery is handed to
    the producer, not once the broker holds it, so every group can look caught up while a delivery is still on
    its way, and the report stage has nothing to commit yet. ``delivered`` gives the consignment ids on
    trace.deliveries; ``reports_committed`` whether the report group's commits reach the topic's end.
    """
    deadline = clock() + timeout_s
    missing = set(expected)
    while clock() < deadline:
        if worker is not None and not worker.alive():
            raise WorkerError(f"the worker exited early; see {worker.log_path}")
        missing = expected - delivered()
        if not missing and reports_committed():
            return
        sleep(0.5)
    if missing:
        shown = ", ".join(sorted(missing)[:5]) + (" ..." if len(missing) > 5 else "")
        raise WorkerError(f"{len(missing)} delivered consignments never reached {topics.DELIVERIES.name}: {shown}")
    raise WorkerError(
        f"the report stage did not store the reports of {topics.DELIVERIES.name} within {timeout_s:.0f} s"
    )


def wait_until_deliveries_reported(
    bootstrap: str,
    settings: Settings,
    expected: set[str],
    worker: WorkerProcess | None = None,
    timeout_s: float = 120,
    tansu: bool | None = None,
) -> None:
    """:func:`wait_until_reported` on the broker: the deliveries topic's keys and the report group's commits."""
    deliveries = [topics.DELIVERIES.name]

    def reports_committed() -> bool:
        ends = true_end_offsets(bootstrap, deliveries, tansu=broker_is_tansu(tansu, worker))
        done = committed_by_groups(bootstrap, {settings.report_group: deliveries}, ends)
        return all(done.get(tp, -1) >= end for tp, end in ends.items() if end > 0)

    wait_until_reported(
        expected, lambda: topic_keys(bootstrap, topics.DELIVERIES.name), reports_committed, worker, timeout_s
    )


def checkpointed_sizes(bootstrap: str, quiet_s: float = 0.5, witnesses: WitnessQuorum | None = None) -> dict[str, int]:
    """Largest checkpointed tree size per log, read from trace.checkpoints (no ClickHouse needed); with
    ``witnesses``, only of notes that carry the cosignatures they require (published after the log-signed note)."""
    consumer = Consumer(client_config(bootstrap, **{"group.id": "battrace-checkpoints", "enable.auto.commit": False}))
    sizes: dict[str, int] = {}
    try:
        meta = consumer.list_topics(topics.CHECKPOINTS.name, timeout=10)
        parts = meta.topics[topics.CHECKPOINTS.name].partitions
        consumer.assign([TopicPartition(topics.CHECKPOINTS.name, p, OFFSET_BEGINNING) for p in parts])
        for m in consume_until_quiet(consumer, quiet_s):
            if m.value():
                if witnesses is not None and witnesses.problem(m.value()) is not None:
                    continue
                cp = Checkpoint.parse(parse_note(m.value())[0])
                sizes[cp.origin] = max(sizes.get(cp.origin, 0), cp.size)
        return sizes
    finally:
        consumer.close()


def wait_until_checkpointed(
    bootstrap: str,
    settings: Settings,
    worker: WorkerProcess | None = None,
    timeout_s: float = 120,
    witnesses: WitnessQuorum | None = None,
    tansu: bool | None = None,
) -> dict[str, int]:
    """Block until a signed checkpoint covers every entry of every log (log size = trace.chain end offset); with
    ``witnesses``, a checkpoint cosigned as they require."""
    deadline = time.monotonic() + timeout_s
    missing: dict[str, tuple[int, int]] = {}
    while time.monotonic() < deadline:
        if worker is not None and not worker.alive():
            raise WorkerError(f"the worker exited early; see {worker.log_path}")
        ends = true_end_offsets(bootstrap, [topics.CHAIN.name], tansu=broker_is_tansu(tansu, worker))
        sizes = checkpointed_sizes(bootstrap, witnesses=witnesses)
        missing = {
            settings.log_id(p): (sizes.get(settings.log_id(p), 0), end)
            for (_, p), end in ends.items()
            if sizes.get(settings.log_id(p), 0) < end
        }
        if not missing:
            return sizes
        time.sleep(0.5)
    signed = "signed" if witnesses is None else f"cosigned by {witnesses.required} of {', '.join(witnesses.names)}"
    behind = ", ".join(f"{log} {signed} {s} of {e}" for log, (s, e) in sorted(missing.items()))
    raise WorkerError(f"no checkpoint covers every log entry within {timeout_s:.0f} s: {behind}")
