"""Fix 6 of processors/runtime/faust_patches.py on the real broker: a fetch on faust's active partitions never drains
a paused partition, even while the set is empty, and the seek after a recovery takes a partition nothing was
committed on back to its start.

The loss these fixes close: a worker restarted on a home whose new entity hashed to a partition nothing had been
committed on; recovery paused the changelogs before resuming the streams, aiokafka drained every buffered record for
the empty set, faust skipped them, and the seek left the partition past its only record. Its event was never sealed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from embedded import broker_for_tests

from battrace.settings import Settings
from processors.runtime.faust_patches import LivePartitions, _fetch_records, seek_to_committed_or_start
from streams.kafka import ensure_topics
from streams.topics import CHAIN

PARTITIONS = 3
TPS = [TopicPartition(CHAIN.name, p) for p in range(PARTITIONS)]


@pytest.fixture
def bootstrap(tmp_path: Path) -> Iterator[str]:
    settings = Settings(home=tmp_path, partitions=PARTITIONS)
    with broker_for_tests(settings, tmp_path / "broker") as broker:
        ensure_topics(broker.bootstrap, PARTITIONS)
        yield broker.bootstrap


async def _publish(bootstrap: str, per_partition: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for tp in TPS:
            for i in range(per_partition):
                await producer.send_and_wait(tp.topic, f"{tp.partition}-{i}".encode(), partition=tp.partition)
    finally:
        await producer.stop()


async def _buffered(consumer: AIOKafkaConsumer, tp: TopicPartition, timeout_s: float = 20) -> None:
    """Until the fetcher holds records of ``tp`` it has not handed out."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while tp not in consumer._fetcher._records:
        assert asyncio.get_running_loop().time() < deadline, f"nothing of {tp} was fetched"
        await asyncio.sleep(0.05)


def test_a_fetch_on_an_empty_active_set_drains_nothing_and_a_resumed_partition_at_once(bootstrap: str) -> None:
    async def scenario() -> None:
        await _publish(bootstrap, per_partition=2)
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
        await consumer.start()
        try:
            consumer.assign(TPS)
            for tp in TPS:
                await _buffered(consumer, tp)
            faust_thread = SimpleNamespace(consumer=SimpleNamespace(flow_active=True))
            active: set[TopicPartition] = set()  # recovery paused the changelogs, the streams are not resumed yet

            assert await _fetch_records(faust_thread, consumer, active, timeout=0.3) == {}
            assert [await consumer.position(tp) for tp in TPS] == [0, 0, 0]

            active.add(TPS[1])  # the stream partition resumed
            drained = await _fetch_records(faust_thread, consumer, active, timeout=0.3)
            assert {tp: [r.offset for r in records] for tp, records in drained.items()} == {TPS[1]: [0, 1]}
            assert [await consumer.position(tp) for tp in TPS] == [0, 2, 0]

            # what faust 0.15 hands aiokafka, the live set itself: empty reads as every partition
            unpatched = await consumer._fetcher.fetched_records(set(), timeout=0.3)
            assert set(unpatched) == {TPS[0], TPS[2]}
        finally:
            await consumer.stop()

    asyncio.run(scenario())


def test_the_live_partitions_follow_the_set_and_are_never_empty() -> None:
    live: set[str] = set()
    view = LivePartitions(live)
    assert bool(view) and "a" not in view
    live.add("a")
    assert "a" in view


def test_the_seek_takes_uncommitted_partitions_to_their_start_and_committed_ones_to_their_offset(
    bootstrap: str,
) -> None:
    async def scenario() -> None:
        await _publish(bootstrap, per_partition=3)
        consumer = AIOKafkaConsumer(
            CHAIN.name,
            bootstrap_servers=bootstrap,
            group_id="fix-6",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            while len(consumer.assignment()) < PARTITIONS:
                await consumer.getmany(timeout_ms=200)
            await consumer.commit({TPS[1]: 0, TPS[2]: 2})  # partition 0: nothing committed
            for tp in TPS:
                consumer.seek(tp, 3)  # every record handed out (and, as faust does, dropped)

            committed = await seek_to_committed_or_start(consumer, skip_topics={"some.changelog"})
            assert committed == {TPS[0]: None, TPS[1]: 0, TPS[2]: 2}
            assert [await consumer.position(tp) for tp in TPS] == [0, 0, 2]

            for tp in TPS:
                consumer.seek(tp, 3)
            await seek_to_committed_or_start(consumer, skip_topics={CHAIN.name})  # a changelog: aiokafka's own seek
            assert [await consumer.position(tp) for tp in TPS] == [3, 3, 2]
        finally:
            await consumer.stop()

    asyncio.run(scenario())
