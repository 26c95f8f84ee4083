"""Internal message formats of trace.accepted, trace.chain and trace.rejects (compact JSON).

Accepted events carry their canonical Avro bytes, so every downstream hash is over the same bytes.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Envelope:
    """An accepted event with the coordinates of the source message it came from."""

    event_id: str
    schema: str
    kind: str
    event_time_ms: int
    source: tuple[str, int, int, int]  # topic, partition, offset, kafka timestamp ms
    canonical: bytes
    record: dict[str, Any]
    entities: list[str]
    original: bytes | None = None  # the source bytes, when they differ from the canonical bytes

    def to_json(self) -> dict[str, Any]:
        extra = {"original": base64.b64encode(self.original).decode()} if self.original is not None else {}
        return {
            **extra,
            "event_id": self.event_id,
            "schema": self.schema,
            "kind": self.kind,
            "event_time": self.event_time_ms,
            "source": list(self.source),
            "canonical": base64.b64encode(self.canonical).decode(),
            "record": self.record,
            "entities": self.entities,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Envelope:
        return cls(
            event_id=d["event_id"],
            schema=d["schema"],
            kind=d["kind"],
            event_time_ms=d["event_time"],
            source=tuple(d["source"]),  # type: ignore[arg-type]
            canonical=base64.b64decode(d["canonical"]),
            record=d["record"],
            entities=d["entities"],
            original=base64.b64decode(d["original"]) if "original" in d else None,
        )

    def dumps(self) -> bytes:
        return _dumps(self.to_json())

    @classmethod
    def loads(cls, raw: bytes) -> Envelope:
        return cls.from_json(json.loads(raw))


@dataclass(frozen=True)
class ChainItem:
    """One entity's share of an accepted event; ``accepted_at`` = (partition, offset) in trace.accepted."""

    entity: str
    accepted_at: tuple[int, int]
    envelope: Envelope

    def dumps(self) -> bytes:
        return _dumps({"entity": self.entity, "accepted_at": list(self.accepted_at), "event": self.envelope.to_json()})

    @classmethod
    def loads(cls, raw: bytes) -> ChainItem:
        d = json.loads(raw)
        return cls(d["entity"], tuple(d["accepted_at"]), Envelope.from_json(d["event"]))  # type: ignore[arg-type]


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
