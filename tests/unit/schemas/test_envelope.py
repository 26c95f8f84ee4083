"""trace.chain packs: LZ4-compressed MsgPack, read back exactly; uncompressed packs still read; a cut one is refused."""

from __future__ import annotations

import lz4.block
import msgspec
import pytest
from aiokafka.structs import ConsumerRecord

from processors.event_ids import EventIdIndex
from processors.ingest import ingest_batch
from processors.validate import Validator
from schemas.envelope import LZ4_PACK, PackEntry, dumps_pack, loads_pack
from streams.simulator import simulate


@pytest.fixture(scope="module")
def packs() -> list[list[PackEntry]]:
    """The packs ingest makes of 2,000 simulator events (4 partitions)."""
    events = list(simulate(2000, seed=7))
    records = [
        ConsumerRecord(e.topic, 0, i, e.timestamp_ms, 0, e.key, e.value, None, 0, 0, []) for i, e in enumerate(events)
    ]
    ingested = ingest_batch(Validator(), EventIdIndex(None), records, 4)
    return [[msgspec.msgpack.decode(e, type=PackEntry) for e in entries] for entries in ingested.packs.values()]


def _as_read(entries: list[PackEntry]) -> list[PackEntry]:
    """What MsgPack gives back (a record's tuples come back as lists, as they always have)."""
    return msgspec.msgpack.decode(msgspec.msgpack.encode(entries), type=list[PackEntry])


def test_a_pack_reads_back_as_written_and_compresses(packs: list[list[PackEntry]]) -> None:
    for entries in packs:
        raw = dumps_pack(entries)
        assert raw[:1] == LZ4_PACK
        assert loads_pack(raw) == _as_read(entries)
        plain = msgspec.msgpack.encode(entries)
        assert lz4.block.decompress(raw[1:]) == plain  # the payload is exactly the MsgPack pack
        assert len(raw) < 0.5 * len(plain)


def test_an_uncompressed_pack_still_reads(packs: list[list[PackEntry]]) -> None:
    plain = msgspec.msgpack.encode(packs[0])
    assert plain[:1] != LZ4_PACK
    assert loads_pack(plain) == _as_read(packs[0])


def test_a_cut_pack_is_refused(packs: list[list[PackEntry]]) -> None:
    """(Kafka's record batch CRC guards the bytes themselves; LZ4's block format has no checksum.)"""
    raw = dumps_pack(packs[0])
    for cut in (len(raw) // 2, len(raw) - 1, 3):
        with pytest.raises((lz4.block.LZ4BlockError, ValueError)):
            loads_pack(raw[:cut])
