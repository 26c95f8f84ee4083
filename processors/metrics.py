"""The worker's Prometheus metrics: every definition in one place, each counted once per batch, never per event.

The seal stage runs at about 13,000 events/s, so a stage reports what a batch did in one call (a counter's ``inc``
costs about a microsecond; per event it would cost a percent of the stage).

The ingest stage runs in a child process (processors/worker.py says why). Its counters use prometheus-client's
multiprocess mode: the worker starts the child with ``PROMETHEUS_MULTIPROC_DIR`` set to
``$BATTRACE_HOME/metrics/ingest`` (emptied first), the child's counters write to memory-mapped files there, and the
worker's /metrics merges them (IngestFiles). Chosen over a port of the child's own because an operator then scrapes
one target per worker, with the same metric names whether ingest runs in a child or in the worker
(``BATTRACE_INGEST_PROCESS=false``), and a crashed child's counts stay in its file until the worker restarts. The
worker itself stays in the ordinary single-process mode: its own metrics include gauges read at scrape time
(checkpoint age, consumer lag) that multiprocess mode cannot compute.

Nothing is registered globally: each worker builds its metrics on a registry of its own (WorkerMetrics), so
importing this module changes nothing, and a test can build as many as it likes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seal batches take tens of milliseconds to seconds (a group waits for the ClickHouse writer); inserts a few ms to s.
BATCH_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
INSERT_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class IngestMetrics:
    """What the ingest stage counts: source messages read, by topic."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.events_in = Counter(
            "battrace_events_in", "Source messages read by the ingest stage", ["topic"], registry=registry
        )

    def batch_read(self, by_topic: Mapping[str, int]) -> None:
        """A batch of source messages was read (counted per topic, not per message)."""
        for topic, count in by_topic.items():
            self.events_in.labels(topic).inc(count)


class IngestFiles(Collector):
    """The ingest child's metrics, merged from its multiprocess files at scrape time (none before it started)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def collect(self) -> Iterable[Metric]:
        if not self.directory.is_dir():
            return []
        return MultiProcessCollector(None, path=str(self.directory)).collect()


def fresh_multiprocess_dir(directory: Path) -> Path:
    """An empty directory for a new ingest child's files (the last run's counts must not be added to this run's)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    return directory


@dataclass
class _Signed:
    size: int
    at_s: float  # wall clock, seconds


class CheckpointAges(Collector):
    """Per log: seconds since the newest checkpoint this worker signed, and its size (read at scrape time, so the
    age grows while nothing is signed: the signal that a log is stuck)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._logs: dict[str, _Signed] = {}

    def signed(self, log_id: str, size: int, created_at_ms: int) -> None:
        self._logs[log_id] = _Signed(size, created_at_ms / 1000)

    def collect(self) -> Iterable[Metric]:
        age = GaugeMetricFamily(
            "battrace_checkpoint_age_seconds",
            "Seconds since the newest signed checkpoint of the log",
            labels=["log"],
        )
        size = GaugeMetricFamily(
            "battrace_checkpoint_size", "Tree size of the newest signed checkpoint of the log", labels=["log"]
        )
        now = self.clock()
        for log_id, signed in sorted(self._logs.items()):
            age.add_metric([log_id], max(0.0, now - signed.at_s))
            size.add_metric([log_id], signed.size)
        return [age, size]


# The steps of a worker's start-up, in the order they are reached (StartupSteps): its entry point ran (interpreter and
# entry-point imports done), its modules imported and app built, the seal stage's group assigned it partitions, its
# table recovered, its first seal group stored, and every log it was assigned followed by the checkpointer.
STARTUP_STEPS = ("entered", "built", "seal_assigned", "table_recovered", "first_batch_stored", "logs_followed")
ENTERED, BUILT, SEAL_ASSIGNED, TABLE_RECOVERED, FIRST_BATCH_STORED, LOGS_FOLLOWED = STARTUP_STEPS
STARTUP_METRIC = "battrace_worker_startup_timestamp_seconds"


class StartupSteps(Collector):
    """``battrace_worker_startup_timestamp_seconds{step}``: when the worker first reached each step of its start-up
    (Unix time), so that a slow start or restart shows where its time went (`battrace bench --restart` reads them)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._at: dict[str, float] = {}

    def reached(self, step: str, at_s: float | None = None) -> None:
        """The step is reached now (or at ``at_s``); only the first time counts."""
        self._at.setdefault(step, self.clock() if at_s is None else at_s)

    def at(self) -> dict[str, float]:
        return dict(self._at)

    def collect(self) -> Iterable[Metric]:
        steps = GaugeMetricFamily(
            STARTUP_METRIC,
            "When the worker first reached each step of its start-up (Unix time)",
            labels=["step"],
        )
        for step, at_s in self._at.items():
            steps.add_metric([step], at_s)
        return [steps]


@dataclass(frozen=True)
class TopicLag:
    """One consumer group's position on one topic, summed over its partitions."""

    stage: str
    group: str
    topic: str
    committed: int  # sum of committed offsets (a partition without a commit counts 0)
    end: int  # sum of end offsets

    @property
    def lag(self) -> int:
        return max(0, self.end - self.committed)


class ConsumerLagGauge(Collector):
    """``battrace_consumer_lag_messages{stage,group,topic}``: end offsets minus committed offsets, read from the broker
    at scrape time by ``read`` (processors/consumer_lag.py); nothing while the broker does not answer."""

    def __init__(self, read: Callable[[], list[TopicLag]]) -> None:
        self.read = read

    def collect(self) -> Iterable[Metric]:
        lag = GaugeMetricFamily(
            "battrace_consumer_lag_messages",
            "Messages of the topic the stage's consumer group has not committed yet",
            labels=["stage", "group", "topic"],
        )
        try:
            lags = self.read()
        except Exception as exc:  # the broker is down or moving: the scrape still answers, without lag
            log.warning("consumer lag not read: %s", exc)
            return []
        for row in lags:
            lag.add_metric([row.stage, row.group, row.topic], row.lag)
        return [lag]


class WorkerMetrics:
    """Every metric of one worker on its own registry: counters and histograms the stages feed, and gauges read at
    scrape time. ``ingest_dir``: where the ingest child writes its metrics (None: ingest counts here, in-process)."""

    def __init__(self, ingest_dir: Path | None = None, read_lag: Callable[[], list[TopicLag]] | None = None) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        if ingest_dir is None:
            self.ingest: IngestMetrics | None = IngestMetrics(registry)
        else:
            self.ingest = None
            registry.register(IngestFiles(ingest_dir))
        self.sealed_events = Counter(
            "battrace_sealed_events", "Events sealed into their first entity's chain and stored", registry=registry
        )
        self.sealed_rows = Counter(
            "battrace_sealed_rows", "Chain rows (one per entity an event extends) stored", registry=registry
        )
        self.rejected = Counter(
            "battrace_rejected",
            "Rejected messages stored in the rejects table, by reason",
            ["reason"],
            registry=registry,
        )
        self.seal_batch_seconds = Histogram(
            "battrace_seal_batch_seconds",
            "From a seal batch taken to its rows, states and checkpoints stored",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.clickhouse_insert_seconds = Histogram(
            "battrace_clickhouse_insert_seconds",
            "One ClickHouse insert of the worker (a group of seal batches, or a batch of rejects)",
            buckets=INSERT_BUCKETS,
            registry=registry,
        )
        self.stored_any = False  # a seal batch was stored (processors/metrics_server.py Readiness)
        self.checkpoints = CheckpointAges()
        registry.register(self.checkpoints)
        self.startup = StartupSteps()
        registry.register(self.startup)
        if read_lag is not None:
            registry.register(ConsumerLagGauge(read_lag))

    def batches_stored(self, events: int, rows: int, started_s: Iterable[float], now_s: float) -> None:
        """A group of seal batches was stored: its events, its chain rows and each batch's duration."""
        self.stored_any = True
        self.startup.reached(FIRST_BATCH_STORED)
        self.sealed_events.inc(events)
        self.sealed_rows.inc(rows)
        for started in started_s:
            self.seal_batch_seconds.observe(now_s - started)

    def rejects_stored(self, by_reason: Mapping[str, int]) -> None:
        for reason, count in by_reason.items():
            self.rejected.labels(reason).inc(count)
