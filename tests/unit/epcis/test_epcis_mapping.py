"""Each kind of sealed event becomes the EPCIS event type and CBV terms the mapping names, losing no field."""

from __future__ import annotations

import dataclasses

import pytest
from simulated_events import REPORT_HASH, first_of, sealed_sample

from battrace.domain.entities import body_of
from battrace.epcis.events import SEALED, epcis_event

EXPECTED = {  # kind: (EPCIS type, CBV bizStep or None, action or None)
    "Commissioned": ("ObjectEvent", "commissioning", "ADD"),
    "Assembled": ("AggregationEvent", "assembling", "ADD"),
    "MaterialConsumed": ("TransformationEvent", "commissioning", None),
    "EnergyUsed": ("ObjectEvent", "sensor_reporting", "OBSERVE"),
    "VehicleIntegrated": ("AssociationEvent", "installing", "ADD"),
    "Serviced": ("ObjectEvent", "inspecting", "OBSERVE"),
    "EndOfLifeCollected": ("ObjectEvent", "collecting", "OBSERVE"),
    "Dismantled": ("TransformationEvent", "disassembling", None),
    "Recycled": ("TransformationEvent", "commissioning", None),
    "ConsignmentCreated": ("TransactionEvent", "consigning", "ADD"),
    "Departed": ("ObjectEvent", "departing", "OBSERVE"),
    "Position": ("ObjectEvent", "sensor_reporting", "OBSERVE"),
    "Arrived": ("ObjectEvent", "arriving", "OBSERVE"),
    "Delivered": ("ObjectEvent", "receiving", "OBSERVE"),
    "Assay": ("ObjectEvent", "inspecting", "OBSERVE"),
    "Licence": ("ObjectEvent", None, "OBSERVE"),
    "ReportDrafted": ("ObjectEvent", "inspecting", "OBSERVE"),
    "ReportCosigned": ("ObjectEvent", "inspecting", "OBSERVE"),
    "ReportRefused": ("ObjectEvent", "inspecting", "OBSERVE"),
}


def _map(kind: str) -> dict:
    return epcis_event(first_of(kind), sealed_sample()[1])


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_kind_maps_to_its_epcis_type_and_cbv_terms(kind: str) -> None:
    event = _map(kind)
    epcis_type, biz_step, action = EXPECTED[kind]
    assert event["type"] == epcis_type
    assert event.get("bizStep") == biz_step
    assert event.get("action") == action
    assert event["eventTime"].endswith("Z") and "eventID" not in event


def test_the_sample_holds_every_kind_of_sealed_event() -> None:
    assert {e.kind for e in sealed_sample()[0]} == set(EXPECTED)


def test_the_extension_links_the_event_back_to_its_seals() -> None:
    sealed = first_of("MaterialConsumed")
    ext = epcis_event(sealed, {})[SEALED]
    assert ext["eventId"] == sealed.record["event_id"] and ext["kind"] == "MaterialConsumed"
    assert ext["eventHash"] == sealed.event_hash
    assert [(s["entity"], s["seq"], s["chainHash"]) for s in ext["seals"]] == [
        (s.entity, s.seq, s.chain_hash) for s in sealed.seals
    ]
    assert len(ext["seals"]) == 1 + len(body_of(sealed.record)["inputs"])  # the cell and each lot it consumed


def test_a_battery_with_a_gs1_alias_is_named_by_its_digital_link_everywhere() -> None:
    events, aliases = sealed_sample()
    code, link = next(iter(aliases.items()))
    mentioning = [e for e in events if e.kind != "Commissioned" and code in str(e.record)]
    assert mentioning
    for sealed in mentioning:
        event = epcis_event(sealed, aliases)
        assert link in str(event) and f"urn:battrace:battery:{code}" not in str(event)
        assert event[SEALED]["aliases"][link] == code
        assert code not in str(epcis_event(sealed, {})[SEALED].get("aliases", {}))
        assert f"urn:battrace:battery:{code}" in str(epcis_event(sealed, {}))


def test_lots_are_quantities_of_lgtin_classes_in_kilograms() -> None:
    sealed = first_of("MaterialConsumed")
    event = epcis_event(sealed, {})
    inputs = body_of(sealed.record)["inputs"]
    assert [q["quantity"] for q in event["inputQuantityList"]] == [i["mass_kg"] for i in inputs]
    assert {q["uom"] for q in event["inputQuantityList"]} == {"KGM"}
    gtin, batch = inputs[0]["lot_id"].split(".")
    assert event["inputQuantityList"][0]["epcClass"] == f"https://id.gs1.org/01/{gtin}/10/{batch}"


def test_measurements_are_sensor_reports() -> None:
    energy = _map("EnergyUsed")["sensorElementList"][0]["sensorReport"]
    assert energy == [{"type": "Energy", "value": body_of(first_of("EnergyUsed").record)["energy_kwh"], "uom": "KWH"}]
    assay = first_of("Assay")
    reports = _map("Assay")["sensorElementList"][0]["sensorReport"]
    fractions = {f["element"]: f["fraction"] for f in assay.record["fractions"]}
    by_element = {r["chemicalSubstance"].rsplit(":", 1)[1]: r["value"] for r in reports if "chemicalSubstance" in r}
    assert by_element == fractions
    position = _map("Position")["sensorElementList"][0]["sensorReport"]
    body = body_of(first_of("Position").record)
    assert {r["component"]: r["value"] for r in position} == {"latitude": body["lat"], "longitude": body["lon"]}


def test_parties_that_take_possession_are_destinations() -> None:
    collected = first_of("EndOfLifeCollected")
    destination = _map("EndOfLifeCollected")["destinationList"]
    assert destination == [
        {"type": "possessing_party", "destination": f"urn:battrace:party:{body_of(collected.record)['collector_id']}"}
    ]
    consignment = _map("ConsignmentCreated")
    body = body_of(first_of("ConsignmentCreated").record)
    assert consignment["sourceList"][0]["source"].endswith(body["origin_site"])
    assert consignment["destinationList"][0]["destination"].endswith(body["destination_site"])
    assert consignment["bizTransactionList"][0]["bizTransaction"].startswith("urn:battrace:shipment:")


def test_fields_epcis_has_no_place_for_travel_in_the_extension() -> None:
    assert set(_map("EnergyUsed")[SEALED]["fields"]) == {"step", "grid_factor_kg_per_kwh"}
    assert set(_map("ConsignmentCreated")[SEALED]["fields"]) == {
        "gross_mass_kg",
        "mode",
        "transporter_id",
        "transporter_licence",
        "legs",
    }
    licence = _map("Licence")[SEALED]["fields"]
    assert licence["valid_from"].endswith("Z") and "name" in licence and "role" in licence


def test_report_steps_carry_the_report_hash_and_the_verdict() -> None:
    assert _map("ReportDrafted")["certificationInfo"] == [f"urn:battrace:report:{REPORT_HASH}"]
    assert "disposition" not in _map("ReportDrafted")
    assert _map("ReportCosigned")["disposition"] == "conformant"
    refused = _map("ReportRefused")
    assert refused["disposition"] == "non_conformant" and refused[SEALED]["fields"]["reasons"] == ["late"]


def test_an_unknown_kind_is_refused() -> None:
    unknown = dataclasses.replace(first_of("Serviced"), kind="Teleported")
    with pytest.raises(ValueError, match="Teleported"):
        epcis_event(unknown, {})
