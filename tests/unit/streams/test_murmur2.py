"""Kafka's partitioner hash: the published vectors of Kafka's UtilsTest.testMurmur2, and aiokafka's reference
implementation on every tail length (packs must go where faust's producer sends the same keys)."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from processors.sealing import key_partition
from streams.murmur2 import murmur2

# org.apache.kafka.common.utils.UtilsTest#testMurmur2 (Java ints, signed)
KAFKA_VECTORS = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


def _signed(h: int) -> int:
    return h - (1 << 32) if h >= 1 << 31 else h


@pytest.mark.parametrize(("data", "expected"), KAFKA_VECTORS.items())
def test_kafka_published_vectors(data: bytes, expected: int) -> None:
    assert _signed(murmur2(data)) == expected


def test_a_changed_byte_changes_the_hash() -> None:
    for data in KAFKA_VECTORS:
        broken = bytes([data[0] ^ 1]) + data[1:]
        assert murmur2(broken) != murmur2(data)


def test_same_as_aiokafka_on_every_length_and_tail() -> None:
    rng = random.Random(7)
    for length in range(0, 80):
        for _ in range(25):
            data = rng.randbytes(length)
            assert murmur2(data) == aiokafka_murmur2(data), data


def test_entity_keys_go_where_the_default_partitioner_sends_them() -> None:
    for i in range(500):
        key = f"battery:CN{i:018d}".encode()
        for partitions in (1, 2, 4, 12):
            assert key_partition(key, partitions) == (aiokafka_murmur2(key) & 0x7FFFFFFF) % partitions
