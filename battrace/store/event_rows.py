"""What an accepted event adds to ClickHouse whichever chains it extends: its events row and its genealogy edges.

Built where the event is accepted, in the ingest process, and shipped encoded in the pack (battrace/store/row_codec.py
says why); the seal stage stores them once, with the event's first entity.
"""

from __future__ import annotations

from typing import Any

import msgspec

from battrace.domain.entities import BATTERY, LOT, body_of, split_key
from battrace.domain.genealogy import edges_of
from battrace.store.row_codec import EVENTS, GENEALOGY
from schemas.envelope import Envelope

_payload_json = msgspec.json.Encoder(order="sorted").encode  # the stdlib encoder cost several times as much


def event_row(ev: Envelope, canonical: bytes) -> dict[str, Any]:
    r, b = ev.record, body_of(ev.record)
    lots = [split_key(e)[1] for e in ev.entities if e.startswith(f"{LOT}:")]
    batteries = [split_key(e)[1] for e in ev.entities if e.startswith(f"{BATTERY}:")]
    lat = b.get("lat", r.get("sample_lat"))
    lon = b.get("lon", r.get("sample_lon"))
    return {
        "event_id": ev.event_id,
        "source_topic": ev.source[0],
        "source_partition": ev.source[1],
        "source_offset": ev.source[2],
        "schema": ev.schema,
        "kind": ev.kind,
        "event_time": ev.event_time_ms,
        "tz_offset": r.get("tz_offset", "+00:00"),
        "entities": ev.entities,
        "battery_ids": batteries,
        "lot_ids": lots,
        "shipment_id": r.get("consignment_id", r.get("shipment_id", "")),
        "site_id": b.get("site_id", r.get("site_id", "")),
        "lat": lat,
        "lon": lon,
        "payload": _payload_json(r).decode(),
        "canonical": canonical,
        "event_hash": ev.event_hash.hex(),
    }


def edges(ev: Envelope) -> list[dict[str, Any]]:
    return edges_of(ev.kind, body_of(ev.record), ev.event_id, ev.event_time_ms)


def encoded(ev: Envelope, canonical: bytes) -> tuple[bytes, list[bytes]]:
    """The event's row and its edges in MsgPack rows of ``events`` and ``genealogy``."""
    return EVENTS.encode(event_row(ev, canonical)), [GENEALOGY.encode(edge) for edge in edges(ev)]
