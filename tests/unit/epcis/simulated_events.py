"""Sealed events for the EPCIS unit tests, without a store: the simulator's valid events (every kind a source
publishes) plus one of each report step, each with the seals the worker would give it (seq per entity in order)."""

from __future__ import annotations

import hashlib
from collections import Counter
from functools import cache

from battrace.domain.entities import entities_of, kind_of
from battrace.domain.sources import REPORT_EVENT
from battrace.epcis.sealed_event import Seal, SealedEvent
from schemas.codec import CodecError, Decoder, canonical_bytes
from streams.simulator import simulate

REPORT_HASH = "ab" * 32


def _report_steps() -> list[tuple[str, dict]]:
    base = {"event_time": 1_767_900_000_000, "shipment_id": "CONS-000001", "report_hash": REPORT_HASH}
    return [
        (
            REPORT_EVENT,
            {**base, "event_id": "r-1", "kind": "ReportDrafted", "document": "{}", "signature": "", "reasons": []},
        ),
        (
            REPORT_EVENT,
            {**base, "event_id": "r-2", "kind": "ReportCosigned", "document": "", "signature": "{}", "reasons": []},
        ),
        (
            REPORT_EVENT,
            {
                **base,
                "event_id": "r-3",
                "kind": "ReportRefused",
                "document": "",
                "signature": "{}",
                "reasons": ["late"],
            },
        ),
    ]


@cache
def sealed_sample(events: int = 3000, seed: int = 7) -> tuple[tuple[SealedEvent, ...], dict[str, str]]:
    """(sealed events in source order, GB/T code -> SGTIN Digital Link of the commissioned batteries that have one)."""
    decoder = Decoder()
    records: list[tuple[str, dict]] = []
    for sim in simulate(events, seed=seed):
        if sim.expected_reason:
            continue
        try:
            decoded = decoder.decode(sim.value)
        except CodecError:
            continue
        records.append((decoded.schema, decoded.record))
    records += _report_steps()
    seq: Counter[str] = Counter()
    sealed, aliases = [], {}
    for index, (schema, record) in enumerate(records):
        canonical = canonical_bytes(schema, record)
        seals = []
        for entity in entities_of(schema, record):
            seq[entity] += 1
            seals.append(
                Seal(entity, seq[entity], hashlib.sha256(f"{entity}{seq[entity]}".encode()).hexdigest(), "t/0", index)
            )
        event = SealedEvent(schema, kind_of(record), record, hashlib.sha256(canonical).hexdigest(), tuple(seals))
        sealed.append(event)
        body = record.get("body")
        if event.kind == "Commissioned" and body[1].get("sgtin"):
            aliases[body[1]["battery_id"]] = body[1]["sgtin"]
    return tuple(sealed), aliases


def first_of(kind: str) -> SealedEvent:
    return next(e for e in sealed_sample()[0] if e.kind == kind)
