"""Send a seal batch's table writes to the table's changelog as whole record batches, and wait for them.

A Faust table write (``table[key] = value``) sends its changelog message on its own: a future, a buffer entry
and a produce call per key, about a third of the seal stage's time with thousands of entity states per batch.
The seal stage stores the values locally and hands this module the (key, value) pairs of each partition, in
the order the changelog must hold them; they go out as a few large record batches per partition, in that
order (aiokafka keeps one batch per partition in flight), and ``write`` returns when Kafka acknowledged all.
The messages are the ones Faust would have sent (same key, same value bytes, same partition), so Faust
recovers the table from them as before.

Each partition's last record goes out in a batch of its own. Tansu reports a partition's high watermark as the
base offset of its last record batch + 1, and Faust's recovery reads a changelog only up to that watermark: the
records after the first of a multi-record last batch would be missed, and a restarted worker would start those
entities' chains afresh (the SIGKILL test lost sealed events that way). With a one-record last batch, the
watermark is the true end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.producer.message_accumulator import BatchBuilder

BATCH_BYTES = 512 * 1024  # under the producer's 1 MiB request limit; a record larger than this gets its own batch
NO_COMPRESSION = 0  # as faust's producer sends (producer_compression_type unset)


def _batch_of(key: bytes, value: bytes, timestamp_ms: int) -> BatchBuilder:
    """A new batch holding this record (a record larger than BATCH_BYTES gets a batch its size)."""
    batch = BatchBuilder(max(BATCH_BYTES, len(key) + len(value) + 512), NO_COMPRESSION)
    if batch.append(timestamp=timestamp_ms, key=key, value=value) is None:  # pragma: no cover
        raise ValueError(f"a changelog record of {len(value)} bytes does not fit a batch")
    return batch


def record_batches(records: Sequence[tuple[bytes, bytes]], timestamp_ms: int) -> list[BatchBuilder]:
    """The records in order, packed into batches of about BATCH_BYTES, the last record alone in the last batch
    (the module docstring says why)."""
    batches: list[BatchBuilder] = []
    current: BatchBuilder | None = None
    for key, value in records[:-1]:
        if current is None or current.append(timestamp=timestamp_ms, key=key, value=value) is None:
            current = _batch_of(key, value, timestamp_ms)
            batches.append(current)
    if records:
        batches.append(_batch_of(*records[-1], timestamp_ms))
    return batches


async def _send_in_order(producer: AIOKafkaProducer, topic: str, partition: int, batches: list[BatchBuilder]) -> int:
    """Queue the partition's batches one after another; the offset of its last record once all are acked."""
    futures = [await producer.send_batch(b, topic, partition=partition) for b in batches]
    last = None
    for batch, future in zip(batches, futures, strict=True):
        meta = await future
        last = meta.offset + batch.record_count() - 1
    assert last is not None
    return last


async def write(
    producer: AIOKafkaProducer, topic: str, by_partition: Mapping[int, list[tuple[bytes, bytes]]], timestamp_ms: int
) -> dict[int, int]:
    """Send each partition's records in order (partitions side by side); partition -> offset of its last record."""
    parts = [p for p, records in by_partition.items() if records]
    lasts = await asyncio.gather(
        *(_send_in_order(producer, topic, p, record_batches(by_partition[p], timestamp_ms)) for p in parts)
    )
    return dict(zip(parts, lasts, strict=True))
