"""Kafka client settings and topic administration, shared by producers, processors and tools."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streams.topics import ALL, TopicSpec


def producer_config(bootstrap: str, **overrides: object) -> dict[str, object]:
    """Idempotent, ordered, batched: the settings every battrace producer uses."""
    config: dict[str, object] = {
        "bootstrap.servers": bootstrap,
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
    admin = AdminClient({"bootstrap.servers": bootstrap})
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


def end_offsets(bootstrap: str, topic_names: Iterable[str], timeout_s: float = 10) -> dict[tuple[str, int], int]:
    """High watermark of every partition of the given topics."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "battrace-watermarks", "enable.auto.commit": False}
    )
    try:
        meta = consumer.list_topics(timeout=timeout_s)
        out: dict[tuple[str, int], int] = {}
        for name in topic_names:
            for p in meta.topics[name].partitions:
                _, high = consumer.get_watermark_offsets(TopicPartition(name, p), timeout=timeout_s, cached=False)
                out[(name, p)] = high
        return out
    finally:
        consumer.close()


def committed_offsets(bootstrap: str, group: str, tps: Iterable[tuple[str, int]], timeout_s: float = 10) -> dict:
    """Committed offset of a consumer group per partition (-1 when nothing was committed)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        parts = consumer.committed([TopicPartition(t, p) for t, p in tps], timeout=timeout_s)
        return {(tp.topic, tp.partition): tp.offset for tp in parts}
    finally:
        consumer.close()
