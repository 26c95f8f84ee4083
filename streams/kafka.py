"""Kafka client settings and topic administration, shared by producers, processors and tools."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from battrace.settings import Settings, get_settings
from streams.kafka_security import confluent_options
from streams.topics import ALL, TopicSpec


def client_config(bootstrap: str, settings: Settings | None = None, **options: object) -> dict[str, object]:
    """The configuration of any confluent-kafka client: the brokers, the security settings (``settings``, default
    the environment's; streams/kafka_security.py), then ``options``."""
    return {"bootstrap.servers": bootstrap, **confluent_options(settings or get_settings()), **options}


def producer_config(bootstrap: str, settings: Settings | None = None, **overrides: object) -> dict[str, object]:
    """Idempotent, ordered, batched: the settings every battrace producer uses."""
    config: dict[str, object] = {
        **client_config(bootstrap, settings),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 20,
        "batch.num.messages": 10_000,
        "compression.type": "none",
        "queue.buffering.max.messages": 1_000_000,
    }
    config.update(overrides)
    return config


def ensure_topics(bootstrap: str, partitions: int, specs: Iterable[TopicSpec] = ALL, timeout_s: float = 15) -> None:
    """Create missing topics (idempotent)."""
    admin = AdminClient(client_config(bootstrap))
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    new = [
        NewTopic(s.name, num_partitions=partitions, replication_factor=1, config=dict(s.config))
        for s in specs
        if s.name not in existing
    ]
    if not new:
        return
    for name, fut in admin.create_topics(new, operation_timeout=timeout_s).items():
        try:
            fut.result(timeout_s)
        except Exception as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise RuntimeError(f"could not create topic {name}: {exc}") from exc


def topic_partitions(bootstrap: str, timeout_s: float = 15) -> dict[str, int]:
    """Every topic on the broker with its partition count."""
    admin = AdminClient(client_config(bootstrap))
    return {name: len(meta.partitions) for name, meta in admin.list_topics(timeout=timeout_s).topics.items()}


class MissingTopicError(KeyError):
    """The broker has no such topic (or it has no partitions yet)."""


def watermarks(bootstrap: str, topic_names: Iterable[str], timeout_s: float = 10) -> dict[tuple[str, int], tuple]:
    """(low, high) watermark of every partition of the given topics, read from the broker (not a cached answer)."""
    consumer = Consumer(client_config(bootstrap, **{"group.id": "battrace-watermarks", "enable.auto.commit": False}))
    try:
        meta = consumer.list_topics(timeout=timeout_s)
        out: dict[tuple[str, int], tuple] = {}
        for name in topic_names:
            if name not in meta.topics or not meta.topics[name].partitions:
                raise MissingTopicError(name)
            for p in meta.topics[name].partitions:
                tp = TopicPartition(name, p)
                out[(name, p)] = consumer.get_watermark_offsets(tp, timeout=timeout_s, cached=False)
        return out
    finally:
        consumer.close()


def end_offsets(bootstrap: str, topic_names: Iterable[str], timeout_s: float = 10) -> dict[tuple[str, int], int]:
    """High watermark of every partition of the given topics."""
    return {tp: high for tp, (_, high) in watermarks(bootstrap, topic_names, timeout_s).items()}


# Answers a group coordinator gives while it moves or loads the group's offsets: ask again (librdkafka does not
# flag all of them retriable on a one-shot committed() call).
_COORDINATOR_MOVING = frozenset(
    {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.COORDINATOR_NOT_AVAILABLE}
)


def committed_offsets(bootstrap: str, group: str, tps: Iterable[tuple[str, int]], timeout_s: float = 10) -> dict:
    """Committed offset of a consumer group per partition (-1 when nothing was committed).

    Asked again while Kafka answers with a retriable error: a group's coordinator moves or loads its offsets
    (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS), for instance while a fresh cluster creates __consumer_offsets.
    """
    wanted = [TopicPartition(t, p) for t, p in tps]
    consumer = Consumer(client_config(bootstrap, **{"group.id": group, "enable.auto.commit": False}))
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                parts = consumer.committed(wanted, timeout=max(deadline - time.monotonic(), 0.1))
                return {(tp.topic, tp.partition): tp.offset for tp in parts}
            except KafkaException as exc:
                error = exc.args[0]
                if not (error.retriable() or error.code() in _COORDINATOR_MOVING) or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        consumer.close()


def consume_until_quiet(
    consumer: Consumer, quiet_s: float, max_s: float = 30.0, batch: int = 10_000
) -> Iterator[Message]:
    """The records an assigned consumer reads until ``quiet_s`` passes without one, ``max_s`` at most.

    Only records count: a consumer error (a fetch refused, a broker gone) comes back on every call, and counting it
    as traffic kept these reads going for ever once the worker they waited for had died."""
    last_seen = started = time.monotonic()
    while time.monotonic() - last_seen < quiet_s and time.monotonic() - started < max_s:
        records = [m for m in consumer.consume(num_messages=batch, timeout=0.1) if m.error() is None]
        if records:
            last_seen = time.monotonic()
        yield from records
