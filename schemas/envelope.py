"""Internal message formats of trace.chain (MessagePack packs) and trace.rejects (compact JSON).

Accepted events carry the hash of their canonical Avro bytes, taken once where they are accepted, and the canonical
bytes themselves go in the event's pre-encoded events row (battrace/store/event_rows.py): every chain that the event
extends, and the stored row that verification re-hashes, have the same bytes behind them.
A trace.chain message is a *pack*: the accepted events of one ingest batch whose entities live on that
partition, in source order, each with the entities it extends there. One message per partition and batch
instead of one per entity keeps the per-message cost of Kafka and Faust off the hot path.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import lz4.block
import msgspec


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class Envelope(msgspec.Struct, frozen=True, array_like=True):
    """An accepted event with the coordinates of the source message it came from."""

    event_id: str
    schema: str
    kind: str
    event_time_ms: int
    source: tuple[str, int, int, int]  # topic, partition, offset, kafka timestamp ms
    event_hash: bytes  # SHA-256 of the canonical bytes
    record: dict[str, Any]
    entities: list[str]


class PackEntry(msgspec.Struct, frozen=True, array_like=True):
    """One event in a pack, with the entities (of the pack's partition) whose chains it extends.

    The pack of the event's first entity also carries the event's own rows, encoded for ClickHouse
    (battrace/store/event_rows.py): its events row and its genealogy edges."""

    here: list[str]
    event: Envelope
    event_row: bytes = b""
    edges: list[bytes] = []


_pack_encoder = msgspec.msgpack.Encoder()
_pack_decoder = msgspec.msgpack.Decoder(list[PackEntry])
# A pack goes out LZ4-compressed (block format, size-prefixed) behind this byte; a MsgPack array header never starts
# with it, so a pack written uncompressed (before compression, or by hand) still reads. Packs shrink to about a
# quarter (20,000 simulator events: 1,739 -> 450 bytes an event) for ~2 µs an event to compress and ~1.3 µs to
# expand. The broker's CPU for them falls about as much as their size (200k-event bench runs: 38.8 · 28.4 -> 20.3 ·
# 18.9 µs an event in all); Kafka's own LZ4 batch compression saved the broker as much but cost the producer more.
LZ4_PACK = b"\x01"


def dumps_pack(entries: list[PackEntry]) -> bytes:
    return LZ4_PACK + lz4.block.compress(_pack_encoder.encode(entries))


def encode_entry(entry: PackEntry) -> bytes:
    """One entry's MsgPack bytes: ingest encodes each entry once, so a pack's size is known while it is built."""
    return _pack_encoder.encode(entry)


def _array_header(count: int) -> bytes:
    """MsgPack's array header, as msgspec writes it for a list of ``count`` items."""
    if count < 16:
        return bytes([0x90 | count])
    if count < 1 << 16:
        return b"\xdc" + count.to_bytes(2, "big")
    return b"\xdd" + count.to_bytes(4, "big")


def dumps_encoded_pack(encoded: Sequence[bytes]) -> bytes:
    """The pack of entries already encoded (encode_entry): the same bytes as dumps_pack of the entries."""
    return LZ4_PACK + lz4.block.compress(_array_header(len(encoded)) + b"".join(encoded))


def pack_bound(encoded_bytes: int) -> int:
    """The most bytes dumps_encoded_pack can give for entries of ``encoded_bytes`` in all: the LZ4 block bound
    (input + input/255 + 16) of the MsgPack array (a header of at most 5 bytes), its 4-byte size and the marker."""
    raw = 5 + encoded_bytes
    return len(LZ4_PACK) + 4 + raw + raw // 255 + 16


def split_packs(encoded: Sequence[bytes], max_events: int, max_bytes: int) -> Iterator[list[bytes]]:
    """Consecutive runs of entries, in order, each packing to at most ``max_events`` entries and ``max_bytes`` bytes
    (by pack_bound, so no pack is compressed to be measured). An entry too big for a pack of its own is refused:
    ingest rejects such an event before it packs it."""
    run: list[bytes] = []
    size = 0
    for entry in encoded:
        if pack_bound(len(entry)) > max_bytes:
            raise ValueError(f"a pack entry of {len(entry)} bytes cannot fit a pack of {max_bytes} bytes")
        if run and (len(run) == max_events or pack_bound(size + len(entry)) > max_bytes):
            yield run
            run, size = [], 0
        run.append(entry)
        size += len(entry)
    if run:
        yield run


def loads_pack(raw: bytes) -> list[PackEntry]:
    if raw[:1] == LZ4_PACK:
        return _pack_decoder.decode(lz4.block.decompress(memoryview(raw)[1:]))
    return _pack_decoder.decode(raw)


class ChainItem(NamedTuple):
    """One entity's share of an accepted event; ``source`` = the (topic, partition, offset) it was accepted from.

    A named tuple: one is made per entity and event in the seal stage, and a frozen dataclass's ``__init__``
    (three ``object.__setattr__`` calls) cost several times as much.
    """

    entity: str
    source: tuple[str, int, int]
    envelope: Envelope

    @classmethod
    def of(cls, entity: str, envelope: Envelope) -> ChainItem:
        return cls(entity, envelope.source[:3], envelope)


# A reject record must fit any producer and fetch limit whatever it rejects: it keeps at most this much of the
# original (with the length and SHA-256 of all of it), the detail and event id cut short. Base64 of 512 KiB plus the
# rest stays under 1 MiB: Kafka's default message.max.bytes and aiokafka's default fetch size per partition.
REJECT_ORIGINAL_MAX = 512 * 1024
REJECT_DETAIL_MAX = 1000  # characters; a detail quotes a value of the message, which may be huge
REJECT_EVENT_ID_MAX = 200  # characters
REJECT_RECORD_MAX = 1024 * 1024  # what the limits above guarantee (a JSON escape is at most 6 bytes a character)


@dataclass(frozen=True)
class RejectRecord:
    """A rejected source message: where it came from, why, and (a prefix of) its bytes.

    ``original`` is what is kept of the message; ``original_length`` and ``original_sha256`` describe all of it,
    so a record whose ``original`` is shorter than ``original_length`` says it was cut, and which bytes it was."""

    source: tuple[str, int, int, int]
    reason: str
    detail: str
    event_id: str
    original: bytes
    original_length: int = -1  # -1: len(original)
    original_sha256: str = ""  # "": the SHA-256 of original

    @classmethod
    def of(
        cls, source: tuple[str, int, int, int], reason: str, detail: str, event_id: str, value: bytes, keep: int
    ) -> RejectRecord:
        """A record of ``value`` keeping at most ``keep`` bytes of it (and REJECT_ORIGINAL_MAX at most)."""
        kept = value[: min(keep, REJECT_ORIGINAL_MAX)]
        return cls(source, reason, detail, event_id, kept, len(value), hashlib.sha256(value).hexdigest())

    def dumps(self) -> bytes:
        original = self.original[:REJECT_ORIGINAL_MAX]
        length = self.original_length if self.original_length >= 0 else len(self.original)
        digest = self.original_sha256 or hashlib.sha256(self.original).hexdigest()
        return _dumps(
            {
                "source": [str(self.source[0])[:255], *self.source[1:]],
                "reason": self.reason,
                "detail": self.detail[:REJECT_DETAIL_MAX],
                "event_id": self.event_id[:REJECT_EVENT_ID_MAX] if self.event_id else self.event_id,
                "original": base64.b64encode(original).decode(),
                "original_length": length,
                "original_sha256": digest,
            }
        )

    @classmethod
    def loads(cls, raw: bytes) -> RejectRecord:
        d = json.loads(raw)
        original = base64.b64decode(d["original"])
        length = d.get("original_length", len(original))  # records written before these fields describe all bytes
        digest = d.get("original_sha256") or hashlib.sha256(original).hexdigest()
        return cls(tuple(d["source"]), d["reason"], d["detail"], d["event_id"], original, length, digest)  # type: ignore[arg-type]

    @property
    def cut(self) -> bool:
        """Only a prefix of the message is kept."""
        return len(self.original) < self.original_length
