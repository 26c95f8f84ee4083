"""The dedup index's catch-up on the real broker: to the true end of a multi-record last batch, and from where a
disk index left off."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.producer.message_accumulator import BatchBuilder
from embedded import broker_for_tests

from battrace.settings import Settings
from processors.event_id_reader import EventIdReader
from processors.event_ids import EventIdIndex, encode_changes
from streams import topics
from streams.kafka import ensure_topics

PARTITIONS = 2


@pytest.fixture
def settings(tmp_path: Path):
    base = Settings(home=tmp_path, partitions=PARTITIONS)
    with broker_for_tests(base, tmp_path / "broker") as broker:
        ensure_topics(broker.bootstrap, PARTITIONS)
        yield base.model_copy(update={"kafka": broker.bootstrap})


def _changes(prefix: str, count: int, partition: int) -> list[bytes]:
    return [encode_changes({f"{prefix}{i}": ("mes.events", partition, i)}) for i in range(count)]


async def _write_one_batch(bootstrap: str, partition: int, values: list[bytes]) -> None:
    """The values as ONE record batch: on Tansu the reported high watermark is then its base offset + 1, short of
    its tail."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        batch = BatchBuilder(1024 * 1024, 0)
        for value in values:
            assert batch.append(timestamp=1_700_000_000_000, key=None, value=value) is not None
        await (await producer.send_batch(batch, topics.EVENT_IDS.name, partition=partition))
    finally:
        await producer.stop()


async def _catch_up(settings: Settings, index: EventIdIndex, partitions: list[int]) -> dict[int, int]:
    reader = EventIdReader(settings, index)
    await reader.start()
    try:
        return await reader.catch_up(partitions, timeout_s=20)
    finally:
        await reader.stop()


def test_the_catch_up_reads_a_multi_record_last_batch_to_its_end_and_only_what_is_new(settings: Settings) -> None:
    asyncio.run(_write_one_batch(settings.kafka, 0, _changes("a", 3, 0)))
    asyncio.run(_write_one_batch(settings.kafka, 1, _changes("b", 2, 1)))
    index = EventIdIndex(settings.home / "ids")
    assert asyncio.run(_catch_up(settings, index, [0, 1])) == {0: 3, 1: 2}
    assert index.first("a2") == ("mes.events", 0, 2)  # the tail behind Tansu's reported watermark
    assert (index.position(0), index.position(1)) == (3, 2)
    index.close()

    reopened = EventIdIndex(settings.home / "ids")  # a restart on disk: nothing new, nothing read
    assert asyncio.run(_catch_up(settings, reopened, [0, 1])) == {0: 0, 1: 0}
    asyncio.run(_write_one_batch(settings.kafka, 0, _changes("c", 2, 0)))
    assert asyncio.run(_catch_up(settings, reopened, [0, 1])) == {0: 2, 1: 0}
    assert reopened.first("c1") == ("mes.events", 0, 1) and reopened.first("a0") == ("mes.events", 0, 0)
    reopened.close()


def test_an_unassigned_partition_is_not_read(settings: Settings) -> None:
    asyncio.run(_write_one_batch(settings.kafka, 1, _changes("b", 2, 1)))
    index = EventIdIndex()
    assert asyncio.run(_catch_up(settings, index, [0])) == {0: 0}
    assert index.first("b0") is None and index.position(1) == 0
