"""Capture inverts the export: every kind of sealed event, exported as EPCIS and captured, is the same record (the
same canonical bytes, so the same event hash); what cannot be mapped is refused with a reason naming the problem."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from simulated_events import first_of, sealed_sample

from battrace.epcis.capture import Names, NotCaptured, capture_event
from battrace.epcis.capture_message import messages, read_message
from battrace.epcis.document import EPCIS_CONTEXT, epcis_document
from battrace.epcis.event_hash import event_hashes
from battrace.epcis.events import NAMESPACE, SEALED, epcis_event
from battrace.epcis.sealed_event import SealedEvent
from schemas.codec import Decoder, canonical_bytes
from schemas.reasons import Reason
from streams import topics

NAMES = Names([EPCIS_CONTEXT, {"battrace": NAMESPACE}])
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
TOPIC = {
    "battrace.mes.MesEvent": topics.MES.name,
    "battrace.logistics.LogisticsEvent": topics.LOGISTICS.name,
    "battrace.assay.AssayResult": topics.ASSAY.name,
    "battrace.registry.LicensedEntity": topics.REGISTRY.name,
    "battrace.reports.ReportEvent": topics.REPORTS.name,
}


def _capture(event: dict, event_id: str = "id-1") -> bytes:
    return capture_event(event, NAMES, event_id).value


def _few_of_each_kind(per_kind: int = 2) -> list[SealedEvent]:
    seen: Counter[str] = Counter()
    chosen = []
    for sealed in sealed_sample()[0]:
        if seen[sealed.kind] < per_kind:
            seen[sealed.kind] += 1
            chosen.append(sealed)
    return chosen


def _document(events: list[SealedEvent]) -> dict:
    return epcis_document(events, sealed_sample()[1], CREATED)


def _unmappable(event: dict) -> str:
    with pytest.raises(NotCaptured) as caught:
        capture_event(event, NAMES, "id-1")
    assert caught.value.reason is Reason.EPCIS_UNMAPPABLE
    return caught.value.detail


def test_every_exported_event_captures_to_its_own_canonical_bytes() -> None:
    events, aliases = sealed_sample()
    kinds = Counter()
    for sealed in events:
        for named_by in (aliases, {}):  # batteries by their SGTIN Digital Link, and by their URN
            mapped = capture_event(epcis_event(sealed, named_by), NAMES, sealed.record["event_id"])
            assert mapped.value == canonical_bytes(sealed.schema, sealed.record), sealed.kind
            assert (mapped.kind, mapped.schema, mapped.topic) == (sealed.kind, sealed.schema, TOPIC[sealed.schema])
        kinds[sealed.kind] += 1
    assert len(kinds) == 19 and min(kinds.values()) >= 1, kinds


def test_the_kind_follows_from_the_epcis_event_without_the_extension_naming_it() -> None:
    for sealed in _few_of_each_kind():
        event = epcis_event(sealed, sealed_sample()[1])
        del event[SEALED]["kind"]
        assert capture_event(event, NAMES, sealed.record["event_id"]).kind == sealed.kind


def test_a_whole_exported_document_captures_event_by_event_under_the_exported_ids() -> None:
    chosen = _few_of_each_kind()
    document = _document(chosen)
    [message] = list(messages(document, max_bytes=10**7))
    outcomes = read_message(message)
    assert [o.index for o in outcomes] == list(range(len(chosen)))
    for sealed, outcome in zip(chosen, outcomes, strict=True):
        assert outcome.reason is None, outcome.detail
        assert outcome.event_id == sealed.record["event_id"]
        assert outcome.mapped is not None and outcome.mapped.value == canonical_bytes(sealed.schema, sealed.record)
        alone = json.loads(outcome.original)
        assert alone["@context"] == document["@context"] and len(alone["epcisBody"]["eventList"]) == 1


def test_an_event_without_ids_is_named_by_its_gs1_event_hash_the_same_every_time() -> None:
    document = _document([first_of("Assembled")])
    event = document["epcisBody"]["eventList"][0]
    exported_hash = event.pop("eventID")
    del event[SEALED]["eventId"]  # the extension is hashed too: without the id, the event has another hash
    [gs1_hash] = event_hashes(document)
    value = json.dumps(document).encode()
    [first] = read_message(value)
    [again] = read_message(value)
    assert first.reason is None, first.detail
    assert first.event_id == again.event_id == gs1_hash != exported_hash and gs1_hash.startswith("ni:///sha-256;")


def test_a_partner_event_with_cbv_uris_and_its_own_prefix_maps_like_ours() -> None:
    sealed = first_of("EnergyUsed")
    event = json.loads(json.dumps(epcis_event(sealed, {})).replace('"battrace:', '"bt:'))
    event["bizStep"] = "https://ref.gs1.org/cbv/BizStep-sensor_reporting"
    event["sensorElementList"][0]["sensorReport"][0]["type"] = "gs1:Energy"
    names = Names([EPCIS_CONTEXT, {"bt": NAMESPACE}])
    assert capture_event(event, names, sealed.record["event_id"]).value == canonical_bytes(sealed.schema, sealed.record)
    assert _unmappable(event).startswith("EnergyUsed needs step")  # under our prefix, its fields are not ours


def test_unknown_bizsteps_unresolvable_ids_and_missing_fields_are_unmappable_with_what_to_fix() -> None:
    assembled = epcis_event(first_of("Assembled"), {})
    assert "bizStep shipping" in _unmappable({**assembled, "bizStep": "shipping"})
    link = "https://id.gs1.org/01/06901234000011/21/X1"
    assert link in _unmappable({**assembled, "parentID": link}) and "aliases" in _unmappable(
        {**assembled, "parentID": link}
    )
    assert "https://example.com/x" in _unmappable({**assembled, "childEPCs": ["https://example.com/x"]})
    energy = epcis_event(first_of("EnergyUsed"), {})
    del energy[SEALED]["fields"]["step"]
    assert _unmappable(energy) == "EnergyUsed needs step, which the event gives nowhere (battrace:sealed fields.step)"
    consumed = epcis_event(first_of("MaterialConsumed"), {})
    consumed["inputQuantityList"][0]["uom"] = "TNE"
    assert "'TNE', not KGM" in _unmappable(consumed)
    claimed = epcis_event(first_of("Serviced"), {})
    claimed[SEALED]["kind"] = "Commissioned"
    assert "says kind 'Commissioned'" in _unmappable(claimed)
    wrong_type = epcis_event(first_of("EnergyUsed"), {})
    wrong_type["sensorElementList"][0]["sensorReport"][0]["value"] = "lots"
    assert "'lots' is not a number" in _unmappable(wrong_type)


def test_a_document_with_bad_events_rejects_each_with_its_reason_and_maps_the_others() -> None:
    chosen = [first_of("Assembled"), first_of("EnergyUsed"), first_of("Assay"), first_of("Licence")]
    document = _document(chosen)
    bad = document["epcisBody"]["eventList"]
    del bad[1]["action"]  # not EPCIS: an ObjectEvent needs its action
    bad[2]["quantityList"][0]["quantity"] = 1.0  # changed after it was hashed: its eventID no longer matches
    bad[3]["bizStep"] = "destroying"  # EPCIS, but no battrace event (no eventID to check: it keeps battrace's id)
    del bad[3]["eventID"]
    outcomes = read_message(json.dumps(document).encode())
    assert [(o.index, o.reason) for o in outcomes] == [
        (0, None),
        (1, Reason.EPCIS_INVALID),
        (2, Reason.EPCIS_INVALID),
        (3, Reason.EPCIS_UNMAPPABLE),
    ]
    assert "'action' is a required property" in outcomes[1].detail
    assert "is not the event's GS1 event hash" in outcomes[2].detail
    assert "bizStep destroying" in outcomes[3].detail
    assert [o.event_id for o in outcomes] == [e.record["event_id"] for e in chosen]
    assert json.loads(outcomes[1].original)["epcisBody"]["eventList"] == [bad[1]]


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        (b"\xff{not json", "not JSON"),
        (b'{"type": "EPCISQueryDocument"}', "not an EPCIS 2.0 EPCISDocument"),
        (b'{"type": "EPCISDocument", "epcisBody": {"eventList": []}}', "no @context"),
        (b'{"type": "EPCISDocument", "@context": [], "epcisBody": {"eventList": []}}', "has no events"),
        (b"[" * 100_000 + b"]" * 100_000, "nests JSON too deeply"),
    ],
)
def test_a_message_that_is_no_epcis_document_is_one_reject_keeping_its_bytes(value: bytes, detail: str) -> None:
    [outcome] = read_message(value)
    assert (outcome.index, outcome.reason, outcome.original) == (0, Reason.EPCIS_INVALID, value)
    assert detail in outcome.detail


def test_a_long_document_goes_out_as_messages_of_bounded_size_in_order() -> None:
    document = _document(_few_of_each_kind(5))
    events = document["epcisBody"]["eventList"]
    sent = list(messages(document, max_bytes=20_000, max_events=7))
    parts = [json.loads(m) for m in sent]
    assert len(sent) > len(events) // 7
    assert all(len(m) <= 20_000 and len(p["epcisBody"]["eventList"]) <= 7 for m, p in zip(sent, parts, strict=True))
    assert [e for p in parts for e in p["epcisBody"]["eventList"]] == events
    assert all(
        {k: v for k, v in p.items() if k != "epcisBody"} == {k: v for k, v in document.items() if k != "epcisBody"}
        for p in parts
    )
    [huge] = list(messages(_document([first_of("Commissioned")]), max_bytes=10))  # one event alone still goes
    assert len(json.loads(huge)["epcisBody"]["eventList"]) == 1


def test_capture_does_not_change_the_event_it_reads() -> None:
    event = epcis_event(first_of("Recycled"), {})
    before = copy.deepcopy(event)
    _capture(event)
    assert event == before


def test_many_tiny_events_under_a_large_header_keep_only_themselves() -> None:
    """A reject keeps a document of its event alone, unless the header outweighs the event: the originals of a
    message never multiply its size."""
    header = {"@context": [EPCIS_CONTEXT, {f"n{i}": f"https://example.com/{i}/" for i in range(2000)}]}
    document = {**header, "type": "EPCISDocument", "epcisBody": {"eventList": [{"type": "ObjectEvent"}] * 5000}}
    value = json.dumps(document).encode()
    outcomes = read_message(value)
    assert len(outcomes) == 5000 and {o.reason for o in outcomes} == {Reason.EPCIS_INVALID}
    assert sum(len(o.original) for o in outcomes) < 2 * len(value)
    assert outcomes[0].original == b'{"type":"ObjectEvent"}'


def test_the_documented_partner_example_captures_as_an_assembly() -> None:
    readme = (Path(__file__).resolve().parents[3] / "docs" / "epcis.md").read_text(encoding="utf-8")
    example = readme.split("Cells assembled into a module, for example:\n\n```json\n", 1)[1].split("```", 1)[0]
    [outcome] = read_message(example.encode())
    assert outcome.reason is None, outcome.detail
    assert outcome.mapped is not None and outcome.mapped.kind == "Assembled"
    assert outcome.event_id == "urn:uuid:4f0c2a52-3c1e-4a8e-9d49-2b7e1c0d9a11"
    record = Decoder().decode(outcome.mapped.value).record
    assert record["site_id"] == "CN-AH-HEFEI-CELL" and record["line_id"] == "MOD-L2"
    assert record["body"][1]["child_ids"] == ["CH2CBL12000001T150000001", "CH2CBL12000001T150000002"]
