"""An exported document validates against GS1's EPCIS 2.0 JSON schema; documents broken on purpose do not."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from simulated_events import first_of, sealed_sample

from battrace.epcis.document import EPCIS_CONTEXT, epcis_document
from battrace.epcis.event_hash import event_hashes
from battrace.epcis.events import NAMESPACE
from battrace.epcis.schema import epcis_schema, problems

KINDS = sorted({e.kind for e in sealed_sample()[0]})
CREATED = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def _document() -> dict[str, Any]:
    return epcis_document([first_of(k) for k in KINDS], sealed_sample()[1], CREATED)


def _event(document: dict[str, Any], epcis_type: str) -> dict[str, Any]:
    return next(e for e in document["epcisBody"]["eventList"] if e["type"] == epcis_type)


def test_the_shipped_schema_is_gs1s_epcis_2_schema() -> None:
    schema = epcis_schema()
    assert schema["$id"] == "https://gs1.github.io/EPCIS/EPCIS-JSON-Schema.json"
    assert {"ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent"} <= set(schema["definitions"])


def test_a_document_of_every_kind_of_event_is_valid_epcis_2() -> None:
    document = _document()
    assert document["@context"] == [EPCIS_CONTEXT, {"battrace": NAMESPACE}]
    assert document["schemaVersion"] == "2.0" and document["creationDate"].startswith("2026-02-01T12:00:00.000")
    assert len(document["epcisBody"]["eventList"]) == len(KINDS) == 19
    assert problems(document) == []


def test_each_event_id_is_the_gs1_hash_of_the_event_as_written() -> None:
    document = json.loads(json.dumps(_document()))  # as a partner reads the file
    ids = [e["eventID"] for e in document["epcisBody"]["eventList"]]
    assert ids == event_hashes(document)
    assert len(set(ids)) == len(ids)


def test_the_event_id_changes_with_the_sealed_content() -> None:
    sealed = first_of("Commissioned")
    record = copy.deepcopy(sealed.record)
    record["body"][1]["capacity_ah"] += 1
    changed = type(sealed)(sealed.schema, sealed.kind, record, sealed.event_hash, sealed.seals)
    before = epcis_document([sealed], {}, CREATED)["epcisBody"]["eventList"][0]["eventID"]
    after = epcis_document([changed], {}, CREATED)["epcisBody"]["eventList"][0]["eventID"]
    assert before != after


def _without_time_zone(d: dict[str, Any]) -> None:
    del _event(d, "ObjectEvent")["eventTimeZoneOffset"]


def _unknown_biz_step(d: dict[str, Any]) -> None:
    _event(d, "AggregationEvent")["bizStep"] = "frobnicating"


def _lower_case_unit(d: dict[str, Any]) -> None:
    consumed = next(e for e in d["epcisBody"]["eventList"] if "inputQuantityList" in e)
    consumed["inputQuantityList"][0]["uom"] = "kg"


def _transaction_without_transactions(d: dict[str, Any]) -> None:
    del _event(d, "TransactionEvent")["bizTransactionList"]


def _no_context(d: dict[str, Any]) -> None:
    del d["@context"]


def _not_a_uri(d: dict[str, Any]) -> None:
    _event(d, "AggregationEvent")["childEPCs"][0] = "a battery"


def _not_a_time(d: dict[str, Any]) -> None:
    _event(d, "ObjectEvent")["eventTime"] = "yesterday"


def _unknown_field(d: dict[str, Any]) -> None:
    _event(d, "ObjectEvent")["colour"] = "red"  # neither an EPCIS field nor a namespaced extension


@pytest.mark.parametrize(
    "breaking",
    [
        _without_time_zone,
        _unknown_biz_step,
        _lower_case_unit,
        _transaction_without_transactions,
        _no_context,
        _unknown_field,
    ],
)
def test_a_broken_document_fails_validation(breaking: Any) -> None:
    document = _document()
    breaking(document)
    assert problems(document) != []
