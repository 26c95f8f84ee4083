"""trace.chain packs: LZ4-compressed MsgPack, read back exactly; uncompressed packs still read; a cut one is refused;
packs built from entries encoded one by one are the same bytes, and split under a size bound that holds."""

from __future__ import annotations

import itertools
import random

import lz4.block
import msgspec
import pytest
from aiokafka.structs import ConsumerRecord

from processors.event_ids import EventIdIndex
from processors.ingest import ingest_batch
from processors.validate import Validator
from schemas.envelope import (
    LZ4_PACK,
    Envelope,
    PackEntry,
    dumps_encoded_pack,
    dumps_pack,
    encode_entry,
    loads_pack,
    pack_bound,
    split_packs,
)
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


@pytest.mark.parametrize("count", [0, 1, 15, 16, 500, 65_535, 65_536])
def test_a_pack_of_entries_encoded_one_by_one_is_the_pack_of_the_entries(count: int) -> None:
    """Every MsgPack array header size (fixarray, array 16, array 32): the same bytes as encoding the list at once."""
    entry = PackEntry(["battery:X"], Envelope("e", "s", "k", 1, ("t", 0, 0, 1), b"h" * 32, {"a": 1}, ["battery:X"]))
    entries = [entry] * count
    assert dumps_encoded_pack([encode_entry(e) for e in entries]) == dumps_pack(entries)


def test_pack_bound_holds_for_incompressible_entries() -> None:
    rng = random.Random(3)
    for size in (0, 1, 100, 70_000, 1_000_000):
        encoded = [msgspec.msgpack.encode(rng.randbytes(size))]
        assert len(dumps_encoded_pack(encoded)) <= pack_bound(len(encoded[0]))


def test_split_packs_keeps_order_and_both_bounds() -> None:
    rng = random.Random(4)
    encoded = [msgspec.msgpack.encode(rng.randbytes(rng.randint(1, 50_000))) for _ in range(300)]
    runs = list(split_packs(encoded, max_events=40, max_bytes=400_000))
    assert [e for run in runs for e in run] == encoded  # nothing lost, nothing reordered
    assert all(len(run) <= 40 and len(dumps_encoded_pack(run)) <= 400_000 for run in runs)
    # a pack is cut only when the next entry would break a bound: no pack is smaller than it must be
    full = [pack_bound(sum(map(len, a)) + len(b[0])) > 400_000 or len(a) == 40 for a, b in itertools.pairwise(runs)]
    assert all(full) and len(runs) > 1
    with pytest.raises(ValueError, match="cannot fit"):
        list(split_packs([b"x" * 400_000], max_events=40, max_bytes=400_000))
