"""What `battrace status` reports, read from the broker alone: each stage's lag and each log's newest checkpoint.

Nothing here opens ClickHouse: the embedded chDB store admits one process, the running worker, and the broker holds
both answers. Lag is the end offset minus the committed offset of each stage's consumer group (the groups commit
only what they stored), with Tansu's true ends (battrace/stack/worker.py true_end_offsets; on Apache Kafka the
reported high watermarks). A log's newest checkpoint is the largest signed note on trace.checkpoints, and its age
counts from the Kafka timestamp of the message that carried it (the worker publishes a checkpoint right after
storing it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from battrace.settings import Settings
from battrace.stack.worker import true_end_offsets
from battrace.tlog import Checkpoint
from battrace.tlog.note import parse_note
from processors.consumer_lag import stage_groups, topic_lags
from processors.metrics import TopicLag
from streams import topics
from streams.kafka import client_config, committed_offsets, consume_until_quiet


class BrokerProblem(RuntimeError):
    """The broker cannot say: unreachable, or not a battrace pipeline's; the message names the fix."""


@dataclass(frozen=True)
class LogCheckpoint:
    log_id: str
    size: int
    published_ms: int  # Kafka timestamp of the message that carried the note
    age_s: float


@dataclass(frozen=True)
class PipelineStatus:
    bootstrap: str
    lags: list[TopicLag]
    checkpoints: list[LogCheckpoint]

    def as_json(self) -> dict[str, object]:
        return {
            "broker": self.bootstrap,
            "stages": [{**asdict(row), "lag": row.lag} for row in self.lags],
            "logs": [asdict(cp) for cp in self.checkpoints],
            "lag": sum(row.lag for row in self.lags),
        }


def check_broker(bootstrap: str, timeout_s: float = 5.0) -> None:
    """Raise BrokerProblem unless the broker answers and holds the pipeline's topics."""
    try:
        # log_level 0: librdkafka's own connection errors (one a retry) would flood stderr; the one line below says it
        admin = AdminClient(client_config(bootstrap, log_level=0))
        names = set(admin.list_topics(timeout=timeout_s).topics)
    except KafkaException as exc:
        why = exc.args[0].str() if exc.args and hasattr(exc.args[0], "str") else str(exc)
        raise BrokerProblem(
            f"cannot reach Kafka at {bootstrap} ({why}): start the pipeline's broker or fix BATTRACE_KAFKA"
        ) from None
    missing = [t.name for t in (*topics.SOURCES, topics.CHAIN, topics.CHECKPOINTS) if t.name not in names]
    if missing:
        raise BrokerProblem(
            f"the broker at {bootstrap} has no battrace topics ({', '.join(missing[:3])} missing): point "
            "BATTRACE_KAFKA at the pipeline's broker, or publish events and start a worker first"
        )


def newest_checkpoints(bootstrap: str, now_ms: int, quiet_s: float = 0.5) -> list[LogCheckpoint]:
    """Per log, the largest checkpoint on trace.checkpoints (read from the start until quiet for ``quiet_s``)."""
    consumer = Consumer(client_config(bootstrap, **{"group.id": "battrace-status", "enable.auto.commit": False}))
    newest: dict[str, tuple[int, int]] = {}  # log -> (size, timestamp ms)
    try:
        parts = consumer.list_topics(topics.CHECKPOINTS.name, timeout=10).topics[topics.CHECKPOINTS.name].partitions
        consumer.assign([TopicPartition(topics.CHECKPOINTS.name, p, OFFSET_BEGINNING) for p in parts])
        for m in consume_until_quiet(consumer, quiet_s):
            if not m.value():
                continue
            cp = Checkpoint.parse(parse_note(m.value())[0])
            if cp.size >= newest.get(cp.origin, (-1, 0))[0]:
                newest[cp.origin] = (cp.size, m.timestamp()[1])
    finally:
        consumer.close()
    return [
        LogCheckpoint(log_id, size, at_ms, round(max(0, now_ms - at_ms) / 1000, 3))
        for log_id, (size, at_ms) in sorted(newest.items())
    ]


def pipeline_status(
    settings: Settings, bootstrap: str, clock_ms: Callable[[], int] = lambda: round(time.time() * 1000)
) -> PipelineStatus:
    """Lag per stage and topic, and each log's newest checkpoint; raises BrokerProblem first if the broker cannot
    answer."""
    check_broker(bootstrap)
    stages = stage_groups(settings)
    ends = true_end_offsets(bootstrap, [name for _, names in stages.values() for name in names])
    lags = topic_lags(stages, ends, lambda group, tps: committed_offsets(bootstrap, group, tps))
    return PipelineStatus(bootstrap, lags, newest_checkpoints(bootstrap, clock_ms()))
