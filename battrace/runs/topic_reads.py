"""Reads of the topics that the bench measures against: the broker's raw consume ceiling, the first output's
CreateTime, and where each event's packs landed on trace.chain (for latencies).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import NamedTuple

from aiokafka import AIOKafkaConsumer, TopicPartition
from confluent_kafka import Consumer
from confluent_kafka import TopicPartition as ConfluentTP
from rich.progress import Progress

from battrace.runs.commit_clock import TP
from battrace.settings import get_settings
from schemas.envelope import loads_pack
from streams import topics
from streams.kafka import client_config, consume_until_quiet, topic_partitions
from streams.kafka_security import aiokafka_options


def raw_consume(bootstrap: str, topic_names: list[str], expected: int, progress: Progress, timeout_s: float = 120):
    """Read ``expected`` messages from the start of ``topic_names``; returns (messages, seconds)."""
    task = progress.add_task("raw read", total=expected)
    return asyncio.run(
        _raw_consume(bootstrap, topic_names, expected, lambda n: progress.update(task, completed=n), timeout_s)
    )


def first_output_time(bootstrap: str, topic_names: list[str], quiet_s: float = 1.0) -> float | None:
    """Earliest CreateTime (s) of the first message of every partition: when the worker first produced."""
    consumer = Consumer(client_config(bootstrap, **{"group.id": "battrace-bench", "enable.auto.commit": False}))
    try:
        meta = consumer.list_topics(timeout=10)
        consumer.assign([ConfluentTP(t, p, 0) for t in topic_names for p in meta.topics[t].partitions])
        first: dict[TP, int] = {}
        for m in consume_until_quiet(consumer, quiet_s, batch=1000):
            first.setdefault((m.topic(), m.partition()), m.timestamp()[1])
        return min(first.values()) / 1000 if first else None
    finally:
        consumer.close()


class PackAt(NamedTuple):
    """The first trace.chain pack that carries an event on one partition."""

    offset: int
    created_s: float  # its CreateTime: when the ingest stage sent it


def chain_positions(bootstrap: str, quiet_s: float = 1.0) -> dict[str, dict[int, PackAt]]:
    """event id -> {trace.chain partition: the first pack that carries it} (packs decoded)."""
    consumer = Consumer(client_config(bootstrap, **{"group.id": "battrace-bench", "enable.auto.commit": False}))
    positions: dict[str, dict[int, PackAt]] = {}
    try:
        meta = consumer.list_topics(timeout=10)
        name = topics.CHAIN.name
        consumer.assign([ConfluentTP(name, p, 0) for p in meta.topics[name].partitions])
        for m in consume_until_quiet(consumer, quiet_s, max_s=600, batch=1000):  # the whole topic: a longer cap
            at = PackAt(m.offset(), m.timestamp()[1] / 1000)
            for entry in loads_pack(m.value()):
                positions.setdefault(entry.event.event_id, {}).setdefault(m.partition(), at)
        return positions
    finally:
        consumer.close()


async def _partitions(bootstrap: str, topic_names: list[str], timeout_s: float = 30) -> list[TopicPartition]:
    """Every partition of the topics, read with the admin client: aiokafka's consumer keeps the partitions only of
    topics it subscribed to, and Apache Kafka (unlike Tansu) answers its metadata request for those alone."""
    deadline = time.monotonic() + timeout_s
    while True:
        counts = topic_partitions(bootstrap)
        if all(counts.get(t) for t in topic_names) or time.monotonic() > deadline:
            return [TopicPartition(t, p) for t in topic_names for p in range(counts.get(t, 0))]
        await asyncio.sleep(0.2)


async def _raw_consume(
    bootstrap: str, topic_names: list[str], expected: int, on_progress: Callable[[int], None], timeout_s: float
) -> tuple[int, float]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, **aiokafka_options(get_settings())
    )
    await consumer.start()
    try:
        parts = await _partitions(bootstrap, topic_names)
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        count, started = 0, time.perf_counter()
        while count < expected and time.perf_counter() - started < timeout_s:
            batch = await consumer.getmany(timeout_ms=200, max_records=10_000)
            count += sum(len(msgs) for msgs in batch.values())
            on_progress(count)
        return count, time.perf_counter() - started
    finally:
        await consumer.stop()
