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
import json
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


@dataclass(frozen=True)
class RejectRecord:
    source: tuple[str, int, int, int]
    reason: str
    detail: str
    event_id: str
    original: bytes

    def dumps(self) -> bytes:
        return _dumps(
            {
                "source": list(self.source),
                "reason": self.reason,
                "detail": self.detail,
                "event_id": self.event_id,
                "original": base64.b64encode(self.original).decode(),
            }
        )

    @classmethod
    def loads(cls, raw: bytes) -> RejectRecord:
        d = json.loads(raw)
        return cls(tuple(d["source"]), d["reason"], d["detail"], d["event_id"], base64.b64decode(d["original"]))  # type: ignore[arg-type]
