"""The plain aiokafka consumers of the worker's stages (ingest, rejects, reports): one group each, manual commits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from battrace.settings import Settings
from processors.broker import embedded_tansu, group_timeouts
from processors.predecessors import Succession
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


def member_id(consumer: AIOKafkaConsumer) -> str:
    """The consumer's member id in its group ("" before it joined). aiokafka keeps it on its group coordinator only."""
    coordinator = getattr(consumer, "_coordinator", None)
    return str(getattr(coordinator, "member_id", "") or "")


Batch = dict[TopicPartition, list[ConsumerRecord]]


async def consume_and_commit(
    consumer: AIOKafkaConsumer,
    handle: Callable[[Batch], Awaitable[None]],
    poll_s: float,
    succession: Succession | None = None,
) -> None:
    """Poll -> ``handle`` the batch -> commit it, until cancelled. Nothing is committed before ``handle`` returned,
    and a failure in it propagates (the caller exits; the batch is redelivered): at-least-once. ``succession``: send
    the group's members left by a killed worker away first, and note this one (processors/predecessors.py)."""
    if succession is not None:
        await succession.before_join()
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=int(poll_s * 1000))
            if succession is not None:
                succession.joined(member_id(consumer))
            if batch:
                await handle(batch)
                await consumer.commit({tp: records[-1].offset + 1 for tp, records in batch.items()})
    finally:
        await consumer.stop()
