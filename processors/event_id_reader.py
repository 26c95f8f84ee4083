"""Bring the ingest stage's dedup index up to the end of its changelog, trace.event_ids: all partitions at once.

Why an end read from the broker and not a changelog that stays quiet: a fetch that finds nothing new is held by
Tansu for the whole fetch wait, so reading until no records came cost a new consumer, a held fetch and its stop,
about 1.3 s a partition even with nothing to replay, on every restart. The end here is the partition's high
watermark, read when the load begins. On Apache Kafka it is the offset after the last record. On Tansu it is the
base offset of the last record batch + 1 (processors/changelog.py), and a fetch returns whole record batches: once
the reader's position is past the reported watermark, it has read that last batch entirely. An index whose
position is already there (a RocksDB index after a restart, where ingest moved it past its own writes) needs no
fetch at all.

Records another ingest process writes after the watermark was read are as late as they were for the quiet read:
they belong to a batch whose source offsets that process has not committed, so ingest gets the batch again and
the seal stage recognises what it already applied (processors/dedup.py).

One reader serves the stage's whole life (assigned partitions change, the consumer stays), and it starts next to
the stage's group consumer instead of after its assignment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition

from battrace.settings import Settings
from processors.event_ids import EventIdIndex, replay
from streams import topics
from streams.kafka_security import aiokafka_options

FETCH_WAIT_MS = 100  # a fetch is only made for records that exist; this bounds one that races a truncation
CATCH_UP_TIMEOUT_S = 120.0  # records below the watermark that never come: the broker lost them; exit, retry


class ChangelogBehind(RuntimeError):
    """The changelog did not deliver the records its high watermark promised within CATCH_UP_TIMEOUT_S."""


class EventIdReader:
    """Reads trace.event_ids into an EventIdIndex; ``start`` once, ``catch_up`` per newly assigned partitions."""

    def __init__(self, settings: Settings, index: EventIdIndex) -> None:
        self.index = index
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka or "localhost:9092",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # a position below the log's start reads from its start, never skips
            fetch_max_wait_ms=FETCH_WAIT_MS,
            **aiokafka_options(settings),
        )

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    async def catch_up(self, partitions: Iterable[int], timeout_s: float = CATCH_UP_TIMEOUT_S) -> dict[int, int]:
        """Apply every changelog record of ``partitions`` from the index's position to the high watermark read now;
        returns the event ids replayed per partition."""
        wanted = sorted(set(partitions))
        counts = dict.fromkeys(wanted, 0)
        if not wanted:
            return counts
        tps = [TopicPartition(topics.EVENT_IDS.name, p) for p in wanted]
        ends = await self.consumer.end_offsets(tps)
        behind = {tp: end for tp, end in ends.items() if self.index.position(tp.partition) < end}
        if not behind:
            return counts
        self.consumer.assign(list(behind))
        try:
            for tp in behind:
                self.consumer.seek(tp, self.index.position(tp.partition))
            deadline = asyncio.get_running_loop().time() + timeout_s
            while behind:
                if asyncio.get_running_loop().time() > deadline:
                    late = ", ".join(
                        f"{tp.partition} at {self.index.position(tp.partition)} of {end}" for tp, end in behind.items()
                    )
                    raise ChangelogBehind(f"{topics.EVENT_IDS.name} did not reach its high watermark ({late})")
                got = await self.consumer.getmany(*behind, timeout_ms=FETCH_WAIT_MS * 5)
                for tp, records in got.items():
                    counts[tp.partition] += replay(self.index, tp.partition, [(r.offset, r.value) for r in records])
                for tp in [tp for tp, end in behind.items() if await self.consumer.position(tp) >= end]:
                    del behind[tp]
        finally:
            self.consumer.assign([])
        return counts
