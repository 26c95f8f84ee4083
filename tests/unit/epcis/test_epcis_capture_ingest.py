"""Ingest reads an epcis.capture document event by event: each event at a source offset of its own, valid ones
packed like native events, bad ones rejected each with its reason and its own bytes, a resent document duplicate."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from aiokafka.structs import ConsumerRecord
from simulated_events import first_of, sealed_sample

from battrace.domain.entities import entities_of
from battrace.epcis.capture_message import EVENTS_PER_MESSAGE
from battrace.epcis.document import epcis_document
from processors.event_ids import EventIdIndex
from processors.ingest import ingest_batch
from processors.validate import Validator
from schemas.codec import canonical_bytes
from schemas.envelope import loads_pack
from streams import topics

NOW_MS = 1_800_000_000_000
KINDS = ("Commissioned", "Assembled", "ConsignmentCreated", "Assay", "Licence")


def _document() -> dict:
    document = epcis_document([first_of(k) for k in KINDS], sealed_sample()[1], datetime(2026, 1, 1, tzinfo=UTC))
    events = document["epcisBody"]["eventList"]
    events[1] = {**events[1], "bizStep": "shipping"}  # no battrace event
    del events[1]["eventID"]
    events[3] = {**events[3], "eventTime": "2026-13-45T99:00:00Z"}  # not an EPCIS time
    return document


def _record(value: bytes, offset: int, topic: str = topics.EPCIS_CAPTURE.name) -> ConsumerRecord:
    return ConsumerRecord(topic, 1, offset, NOW_MS, 0, b"epcis", value, None, 0, 0, [])


def _packed(ingested) -> list:
    return [entry.event for _, pack in ingested.messages() for entry in loads_pack(pack)]


def test_a_document_s_valid_events_are_packed_and_its_bad_ones_rejected_each_at_its_own_offset() -> None:
    document = _document()
    value = json.dumps(document).encode()
    ingested = ingest_batch(Validator(), EventIdIndex(None), [_record(value, 7)], 4, now_ms=NOW_MS)
    base = 7 * EVENTS_PER_MESSAGE
    rejects = {r.source[2] - base: (r.reason, r.event_id) for r in ingested.rejects}
    expected_ids = [first_of(k).record["event_id"] for k in KINDS]
    assert rejects == {1: ("epcis_unmappable", expected_ids[1]), 3: ("epcis_invalid", expected_ids[3])}
    for reject in ingested.rejects:  # each keeps a document of its event alone, which can be fixed and resent
        alone = json.loads(reject.original)
        assert alone["epcisBody"]["eventList"] == [document["epcisBody"]["eventList"][reject.source[2] - base]]
        assert reject.source[:2] == (topics.EPCIS_CAPTURE.name, 1)
    by_id = {}
    for envelope in _packed(ingested):
        by_id.setdefault(envelope.event_id, envelope)
    assert set(by_id) == {expected_ids[i] for i in (0, 2, 4)}
    for i in (0, 2, 4):
        sealed = first_of(KINDS[i])
        envelope = by_id[expected_ids[i]]
        assert envelope.source[:3] == (topics.EPCIS_CAPTURE.name, 1, base + i)
        assert envelope.kind == sealed.kind and envelope.schema == sealed.schema
        assert envelope.event_hash.hex() == sealed.event_hash  # the same canonical bytes a native source sealed
        assert envelope.entities == entities_of(sealed.schema, sealed.record)
    assert ingested.first_seen[1] == {expected_ids[i]: (topics.EPCIS_CAPTURE.name, 1, base + i) for i in (0, 2, 4)}


def test_a_resent_document_is_duplicate_and_a_redelivered_one_is_passed_on_again() -> None:
    value = json.dumps(_document()).encode()
    index = EventIdIndex(None)
    first = ingest_batch(Validator(), index, [_record(value, 0)], 4, now_ms=NOW_MS)
    index.logged(1, first.first_seen[1], 0)
    resent = ingest_batch(Validator(), index, [_record(value, 1)], 4, now_ms=NOW_MS)
    assert sorted(r.reason for r in resent.rejects) == ["duplicate"] * 3 + ["epcis_invalid", "epcis_unmappable"]
    assert not resent.packs
    redelivered = ingest_batch(Validator(), index, [_record(value, 0)], 4, now_ms=NOW_MS)
    assert _packed(redelivered) == _packed(first)  # the same message again: the same events, the same coordinates
    assert [r.dumps() for r in redelivered.rejects] == [r.dumps() for r in first.rejects]


def test_an_event_captured_from_epcis_meets_the_native_rules() -> None:
    document = epcis_document([first_of("Assembled")], {}, datetime(2026, 1, 1, tzinfo=UTC))
    event = document["epcisBody"]["eventList"][0]
    del event["eventID"]
    event["childEPCs"] = ["urn:battrace:battery:NOT-A-GBT-CODE"]
    ingested = ingest_batch(Validator(), EventIdIndex(None), [_record(json.dumps(document).encode(), 3)], 4)
    [reject] = ingested.rejects
    assert reject.reason == "invalid_battery_code" and "NOT-A-GBT-CODE" in reject.detail


def test_native_messages_keep_their_own_offsets_beside_epcis_ones() -> None:
    sealed = first_of("EnergyUsed")
    native = ConsumerRecord(
        topics.MES.name, 1, 5, NOW_MS, 0, b"k", canonical_bytes(sealed.schema, sealed.record), None, 0, 0, []
    )
    garbage = _record(b"not json", 9)
    ingested = ingest_batch(Validator(), EventIdIndex(None), [native, garbage], 4, now_ms=NOW_MS)
    assert [e.source[:3] for e in _packed(ingested)] == [(topics.MES.name, 1, 5)]
    [reject] = ingested.rejects
    assert reject.source[:3] == (topics.EPCIS_CAPTURE.name, 1, 9 * EVENTS_PER_MESSAGE)
    assert (reject.reason, reject.original) == ("epcis_invalid", b"not json")


def test_an_oversize_document_is_one_reject() -> None:
    value = json.dumps(_document()).encode()
    ingested = ingest_batch(Validator(), EventIdIndex(None), [_record(value, 2)], 4, max_event_bytes=len(value) - 1)
    assert [(r.reason, r.source[2]) for r in ingested.rejects] == [("oversize", 2 * EVENTS_PER_MESSAGE)]
