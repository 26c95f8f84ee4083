"""The plain aiokafka consumers of the worker's stages (ingest, rejects, reports): one group each, manual commits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from battrace.settings import Settings
from processors.broker import embedded_tansu, group_timeouts
from streams.kafka_security import aiokafka_options


def group_consumer(settings: Settings, group_id: str, *topic_names: str, **options: Any) -> AIOKafkaConsumer:
    """A consumer that commits only what its stage finished, with the workers' group timeouts (a crashed member
    must leave the group while its successor joins: session < rebalance timeout, see processors/broker.py)."""
    timeouts = group_timeouts(settings, embedded_tansu(settings))
    return AIOKafkaConsumer(
        *topic_names,
        bootstrap_servers=settings.kafka or "localhost:9092",
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        rebalance_timeout_ms=int(timeouts.rebalance_s * 1000),
        session_timeout_ms=int(timeouts.session_s * 1000),
        heartbeat_interval_ms=int(timeouts.heartbeat_s * 1000),
        **aiokafka_options(settings),
        **options,
    )


Batch = dict[TopicPartition, list[ConsumerRecord]]


async def consume_and_commit(
    consumer: AIOKafkaConsumer, handle: Callable[[Batch], Awaitable[None]], poll_s: float
) -> None:
    """Poll -> ``handle`` the batch -> commit it, until cancelled. Nothing is committed before ``handle`` returned,
    and a failure in it propagates (the caller exits; the batch is redelivered): at-least-once."""
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=int(poll_s * 1000))
            if batch:
                await handle(batch)
                await consumer.commit({tp: records[-1].offset + 1 for tp, records in batch.items()})
    finally:
        await consumer.stop()
