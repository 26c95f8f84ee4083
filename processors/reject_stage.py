"""The rejects sink: trace.rejects -> the ``rejects`` table, on a plain aiokafka consumer in its own group.

Why not a Faust agent: Faust's stream machinery dropped fetched messages after a restart and could commit past
them (processors/runtime/faust_patches.py); a plain consumer that commits a batch only after its rows are in ClickHouse
leaves no such hole, and costs less per message. Rows are keyed by source coordinates, so a redelivered batch
replaces itself. A record that kept only a prefix of its message (an oversize one) names the whole message's length
and SHA-256 in its row's detail.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable

from aiokafka.structs import ConsumerRecord

from battrace.settings import Settings
from battrace.store.sink import SinkBatch
from processors.group_consumer import Batch, consume_and_commit, group_consumer
from processors.metrics import WorkerMetrics
from processors.predecessors import Succession
from schemas.envelope import RejectRecord
from streams import topics

WriteRows = Callable[[SinkBatch], Awaitable[None]]


def reject_rows(records: Iterable[ConsumerRecord]) -> SinkBatch:
    """One ``rejects`` row per trace.rejects message."""
    batch = SinkBatch()
    for record in records:
        r = RejectRecord.loads(record.value)
        topic, partition, offset, ts = r.source
        detail = r.detail
        if r.cut:  # the table keeps what the record kept; the detail says what the whole message was
            kept, length, digest = len(r.original), r.original_length, r.original_sha256
            detail += f" (original: the first {kept} of {length} bytes, sha256 {digest})"
        batch.add(
            "rejects",
            {
                "source_topic": topic,
                "source_partition": partition,
                "source_offset": offset,
                "reason": r.reason,
                "detail": detail,
                "event_id": r.event_id,
                "original": r.original,
                "kafka_timestamp": ts,
            },
        )
    return batch


async def run_stage(settings: Settings, write: WriteRows, metrics: WorkerMetrics | None = None) -> None:
    """Consume -> insert -> commit, until cancelled; a failed insert propagates (nothing of the batch is committed).
    ``metrics`` counts the stored rows by reason (a batch redelivered after a crash counts again)."""
    consumer = group_consumer(
        settings, settings.rejects_group, topics.REJECTS.name, max_poll_records=settings.batch_size
    )

    async def store(batch: Batch) -> None:
        rows = reject_rows(r for tp in sorted(batch) for r in batch[tp])
        await write(rows)
        if metrics is not None:
            metrics.rejects_stored(Counter(row["reason"] for row in rows.rows["rejects"]))

    await consume_and_commit(consumer, store, settings.batch_seconds, Succession(settings, settings.rejects_group))
