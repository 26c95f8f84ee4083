"""The seal stage's batched changelog writes, against the real broker: order, content, and a true end offset."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from embedded import broker_for_tests

from battrace.settings import Settings
from processors import changelog

TOPIC = "entities-changelog"


@pytest.fixture
def bootstrap(tmp_path: Path):
    with broker_for_tests(Settings(home=tmp_path), tmp_path / "broker") as broker:
        _create_topic(broker.bootstrap)
        yield broker.bootstrap


def _create_topic(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})  # gone before the broker stops (no reconnect noise)
    admin.create_topics([NewTopic(TOPIC, 2, 1)])[TOPIC].result(timeout=30)


def _records(prefix: str, count: int, size: int) -> list[tuple[bytes, bytes]]:
    return [(f"{prefix}{i}".encode(), (f"{prefix}{i}:".encode() * size)[:size]) for i in range(count)]


async def _write_then_read(
    bootstrap: str, writes: list[dict[int, list[tuple[bytes, bytes]]]]
) -> tuple[list[dict[int, int]], dict[int, int], dict[int, list[tuple[bytes, bytes]]]]:
    """Each write in turn; then what the broker reports as end offsets, and every record read back."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=4 * 1024 * 1024)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, fetch_max_bytes=8 * 1024 * 1024)
    await producer.start()
    await consumer.start()
    try:
        lasts = [await changelog.write(producer, TOPIC, by_partition, 1_700_000_000_000) for by_partition in writes]
        tps = [TopicPartition(TOPIC, p) for p in (0, 1)]
        reported = {tp.partition: end for tp, end in (await consumer.end_offsets(tps)).items()}
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        read: dict[int, list[tuple[bytes, bytes]]] = {0: [], 1: []}
        quiet = 0
        while quiet < 3:  # read to the data's end, not the reported one (the thing under test)
            got = await consumer.getmany(timeout_ms=300)
            quiet = 0 if got else quiet + 1
            for tp, messages in got.items():
                read[tp.partition].extend((m.key, m.value) for m in messages)
        return lasts, reported, read
    finally:
        await consumer.stop()
        await producer.stop()


def test_records_arrive_in_order_and_the_reported_end_offset_is_the_true_end(bootstrap: str) -> None:
    # Partition 0 spans several ~512 KiB batches; partition 1 is one small batch; the second write adds a tail.
    first = {0: _records("a", 3000, 400), 1: _records("b", 5, 50)}
    second = {0: _records("c", 7, 60), 1: []}
    lasts, reported, read = asyncio.run(_write_then_read(bootstrap, [first, second]))
    assert read[0] == first[0] + second[0] and read[1] == first[1]
    assert lasts == [{0: 2999, 1: 4}, {0: 3006}]
    # Faust's recovery reads a changelog up to the broker's high watermark: it must cover the last record.
    assert reported == {0: 3007, 1: 5}
