"""The report stage: each sealed delivery of a consignment on trace.deliveries gets its signed report.

Why not a Faust agent: reports wait for their inputs (seconds), so several run side by side, and a Faust agent
with concurrency > 1 acks out of order. After a restart Faust sometimes dropped an in-flight delivery without
acking it, and the hole held the partition's commits back for good (the SIGKILL test's "trace.deliveries stuck").
This stage reads with a plain aiokafka consumer in its own group, issues a batch's reports side by side, and
commits the batch's offsets only after every report of it is in ClickHouse: at-least-once, like ingest; reports
are keyed by consignment, so a redelivered one replaces itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from battrace.settings import Settings
from streams import topics

log = logging.getLogger(__name__)
REPORTS_SIDE_BY_SIDE = 4  # reports of one batch issued at once (each mostly waits: for inputs, for chDB)
MAX_DELIVERIES_PER_BATCH = 64

IssueReport = Callable[[dict[str, Any]], Awaitable[None]]


def consumer_for(settings: Settings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topics.DELIVERIES.name,
        bootstrap_servers=settings.kafka or "localhost:9092",
        group_id=settings.report_group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=MAX_DELIVERIES_PER_BATCH,
        rebalance_timeout_ms=int(settings.rebalance_timeout_s * 1000),
        session_timeout_ms=int(settings.session_timeout_s * 1000),
        heartbeat_interval_ms=int(min(1.0, settings.session_timeout_s / 3) * 1000),
        # a batch may wait for its inputs (report_inputs_wait_s) and checkpoints before the next poll
        max_poll_interval_ms=int(max(300.0, 4 * (settings.report_inputs_wait_s + settings.report_checkpoint_wait_s)))
        * 1000,
    )


async def issue_batch(batch: dict[TopicPartition, list[ConsumerRecord]], issue: IssueReport) -> None:
    """Every delivery of the batch, at most REPORTS_SIDE_BY_SIDE at a time; raises if any report failed."""
    slots = asyncio.Semaphore(REPORTS_SIDE_BY_SIDE)

    async def one(record: ConsumerRecord) -> None:
        async with slots:
            await issue(json.loads(record.value))

    await asyncio.gather(*(one(r) for records in batch.values() for r in records))


async def run_stage(settings: Settings, issue: IssueReport) -> None:
    """Consume -> issue reports -> commit, until cancelled; a failed report propagates (the caller exits, and the
    batch is redelivered to the next worker)."""
    consumer = consumer_for(settings)
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=int(settings.batch_seconds * 1000))
            if not batch:
                continue
            await issue_batch(batch, issue)
            await consumer.commit({tp: records[-1].offset + 1 for tp, records in batch.items()})
    finally:
        await consumer.stop()
