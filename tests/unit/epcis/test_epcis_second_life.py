"""A Repurposed event as EPCIS: a TransformationEvent from the original code to the new one, the repurposer as owning
party; captured back, it is the same record (same canonical bytes), and the kind follows from the EPCIS event alone."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from itertools import islice

from battrace.domain.entities import entities_of, kind_of
from battrace.epcis.capture import Names, capture_event
from battrace.epcis.document import EPCIS_CONTEXT, epcis_document
from battrace.epcis.events import NAMESPACE, SEALED, epcis_event
from battrace.epcis.identifiers import battery_uri, party_uri
from battrace.epcis.schema import problems
from battrace.epcis.sealed_event import Seal, SealedEvent
from schemas.codec import canonical_bytes
from streams.simulator.story import Story

NAMES = Names([EPCIS_CONTEXT, {"battrace": NAMESPACE}])


def _simulated_repurposing() -> SealedEvent:
    """The first Repurposed event the seed-7 story plants, sealed as the worker would (seq 1 on each code)."""
    draft = next(d for d in islice(Story(7).drafts(), 20_000) if kind_of(d.record) == "Repurposed")
    digest = hashlib.sha256(canonical_bytes(draft.schema, draft.record)).hexdigest()
    seals = tuple(Seal(e, 1, "00" * 32, "t/0", i) for i, e in enumerate(entities_of(draft.schema, draft.record)))
    return SealedEvent(draft.schema, "Repurposed", draft.record, digest, seals)


def test_a_repurposing_maps_to_a_transformation_and_captures_to_its_own_bytes() -> None:
    sealed = _simulated_repurposing()
    body = sealed.record["body"][1]
    event = epcis_event(sealed, {})
    assert event["type"] == "TransformationEvent" and event["bizStep"] == "commissioning"
    assert event["inputEPCList"] == [battery_uri(body["battery_id"], {})]
    assert event["outputEPCList"] == [battery_uri(body["new_battery_id"], {})]
    assert event["destinationList"] == [{"type": "owning_party", "destination": party_uri(body["repurposer_id"])}]
    assert event[SEALED]["fields"]["application"] == body["application"]
    assert problems(epcis_document([sealed], {}, datetime(2026, 1, 1, tzinfo=UTC))) == []  # GS1's JSON schema
    del event[SEALED]["kind"]
    mapped = capture_event(event, NAMES, sealed.record["event_id"])
    assert mapped.kind == "Repurposed"
    assert mapped.value == canonical_bytes(sealed.schema, sealed.record)


def test_a_dismantling_keeps_its_origin_vin_through_epcis() -> None:
    dismantled = next(
        d for d in islice(Story(7).drafts(), 20_000) if kind_of(d.record) == "Dismantled" and d.record["body"][1]["vin"]
    )
    digest = hashlib.sha256(canonical_bytes(dismantled.schema, dismantled.record)).hexdigest()
    sealed = SealedEvent(dismantled.schema, "Dismantled", dismantled.record, digest, ())
    event = epcis_event(sealed, {})
    assert event[SEALED]["fields"]["vin"] == dismantled.record["body"][1]["vin"]
    mapped = capture_event(event, NAMES, dismantled.record["event_id"])
    assert mapped.value == canonical_bytes(dismantled.schema, dismantled.record)
