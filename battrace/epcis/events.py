"""One sealed event as one EPCIS 2.0 event (JSON-LD, without its eventID): which type, which CBV terms, which fields.

The mapping, by event kind (CBV 2.0 bizStep in brackets):

- ObjectEvent: ``Commissioned`` ADD (commissioning, disposition active, rated data as ILMD), ``EnergyUsed``
  (sensor_reporting, energy in kWh), ``Serviced`` (inspecting / repairing / replacing, state of health),
  ``EndOfLifeCollected`` (collecting, the collector as possessing party), a consignment's ``Departed``, ``Position``,
  ``Arrived`` (departing, sensor_reporting, arriving: the consignment as a logistic unit, latitude and longitude as
  sensor components) and ``Delivered`` (receiving, the receiver as possessing party), an ``Assay`` (inspecting: the
  lot as a quantity, mass fractions per element as sensor reports, the certificate as certificationInfo), a
  ``Licence`` of the registry (the party, its licence as certificationInfo) and a report step (inspecting, the
  report hash as certificationInfo; co-signed: conformant, refused: non_conformant);
- AggregationEvent: ``Assembled`` ADD (assembling: cells into a module, modules into a pack);
- AssociationEvent: ``VehicleIntegrated`` ADD (installing: the vehicle is the parent);
- TransformationEvent: ``MaterialConsumed`` (commissioning: lots in as quantities, the cell out), ``Dismantled``
  (disassembling: the pack in, the black-mass lot out), ``Recycled`` (commissioning: lots in, recovered lots out) and
  ``Repurposed`` (commissioning: the original code in, the new code out, the repurposer as owning party; CBV 2.0 has
  no repurposing step, and commissioning is what the new code undergoes);
- TransactionEvent: ``ConsignmentCreated`` ADD (consigning: the consignment as a despatch advice, its batteries and
  lots, origin and destination sites as source and destination).

Every event carries ``battrace:sealed`` (namespace ``battrace``, declared in the document's ``@context``): the
battrace event id, kind, the SHA-256 of its canonical bytes and each (entity, seq, chain hash, log, index) it is
sealed at, so a partner can ask for the bundle that proves it. Fields EPCIS has no place for go in its ``fields``
as the event contract names them; ``aliases`` gives the GB/T 34014 code of each battery named by its Digital Link.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from battrace.domain.entities import body_of
from battrace.epcis.identifiers import (
    battery_uri,
    lot_class,
    party_uri,
    read_point_uri,
    shipment_uri,
    site_uri,
    urn,
)
from battrace.epcis.sealed_event import SealedEvent

NAMESPACE = "https://battrace.example/epcis/"  # a name, like an XML namespace: nothing needs to resolve it
PREFIX = "battrace"
SEALED = f"{PREFIX}:sealed"
KGM, KWH, DEGREE, ONE = "KGM", "KWH", "DD", "C62"  # UN/CEFACT Rec. 20 units: kg, kWh, decimal degree, one
WGS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
TIME_FIELDS = frozenset({"sampled_at", "valid_from", "valid_to"})  # epoch milliseconds in the contracts
ALWAYS_MAPPED = frozenset({"event_id", "event_time", "tz_offset", "site_id", "line_id", "consignment_id", "body"})
SERVICE_STEPS = {
    "INSPECTED": "inspecting",
    "REPAIRED": "repairing",
    "REFURBISHED": "repairing",
    "REPLACED": "replacing",
}
REVIEW_DISPOSITIONS = {"ReportCosigned": "conformant", "ReportRefused": "non_conformant"}

Fields = dict[str, Any]
Mapper = Callable[[dict[str, Any], dict[str, Any], Mapping[str, str]], tuple[Fields, frozenset[str]]]


def iso_time(ms: int) -> str:
    """Epoch milliseconds as an RFC 3339 UTC time with milliseconds (EPCIS eventTime)."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _quantity(lot_id: str, mass_kg: float | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"epcClass": lot_class(lot_id)}
    if mass_kg is not None:
        element |= {"quantity": mass_kg, "uom": KGM}
    return element


def _position(lat: float, lon: float) -> list[dict[str, Any]]:
    return [
        {"type": "Angle", "component": "latitude", "value": lat, "uom": DEGREE, "coordinateReferenceSystem": WGS84},
        {"type": "Angle", "component": "longitude", "value": lon, "uom": DEGREE, "coordinateReferenceSystem": WGS84},
    ]


def _where(record: dict[str, Any]) -> Fields:
    """readPoint (the MES line) and bizLocation (the site) of an MES event."""
    site, line = record["site_id"], record.get("line_id", "")
    return {"readPoint": {"id": read_point_uri(site, line)}, "bizLocation": {"id": site_uri(site)}}


def _commissioned(r: dict[str, Any], b: dict[str, Any], aliases: Mapping[str, str]) -> tuple[Fields, frozenset[str]]:
    ilmd = {f"{PREFIX}:{k}": b[k] for k in ("chemistry", "model", "capacity_ah", "energy_kwh", "mass_kg")}
    return {
        "type": "ObjectEvent",
        "epcList": [battery_uri(b["battery_id"], aliases)],
        "action": "ADD",
        "bizStep": "commissioning",
        "disposition": "active",
        "certificationInfo": [urn("certificate", b["certification_number"])],
        **_where(r),
        "ilmd": ilmd,
    }, frozenset({"battery_id", "sgtin", "certification_number", *(k.split(":", 1)[1] for k in ilmd)})


def _assembled(r: dict[str, Any], b: dict[str, Any], aliases: Mapping[str, str]) -> tuple[Fields, frozenset[str]]:
    return {
        "type": "AggregationEvent",
        "parentID": battery_uri(b["parent_id"], aliases),
        "childEPCs": [battery_uri(c, aliases) for c in b["child_ids"]],
        "action": "ADD",
        "bizStep": "assembling",
        **_where(r),
    }, frozenset({"parent_id", "child_ids"})


def _consumed(r: dict[str, Any], b: dict[str, Any], aliases: Mapping[str, str]) -> tuple[Fields, frozenset[str]]:
    return {
        "type": "TransformationEvent",
        "inputQuantityList": [_quantity(i["lot_id"], i["mass_kg"]) for i in b["inputs"]],
        "outputEPCList": [battery_uri(b["battery_id"], aliases)],
        "bizStep": "commissioning",
        **_where(r),
    }, frozenset({"battery_id", "inputs"})


def _energy(r: dict[str, Any], b: dict[str, Any], aliases: Mapping[str, str]) -> tuple[Fields, frozenset[str]]:
    return {
        "type": "ObjectEvent",
        "epcList": [battery_uri(b["battery_id"], aliases)],
        "action": "OBSERVE",
        "bizStep": "sensor_reporting",
        **_where(r),
        "sensorElementList": [{"sensorReport": [{"type": "Energy", "value": b["energy_kwh"], "uom": KWH}]}],
    }, frozenset({"battery_id", "energy_kwh"})


def _integrated(r: dict[str, Any], b: dict[str, Any], aliases: Mapping[str, str]) -> tuple[Fields, frozenset[str]]:
    return {
        "type": "AssociationEvent",
        "parentID": urn("vehicle", b["vin"]),
        "childEPCs": [battery_uri(b["battery_id"], aliases)],
        "action": "ADD",
        "bizStep": "installing",
        **_where(r),
    }, frozenset({"battery_id", "vin"})


def _serviced(r: dict[str, Any], b: dict[str, Any], aliases: Mapping[str, str]) -> tuple[Fields, frozenset[str]]:
    epcs = [battery_uri(b["battery_id"], aliases)]
    if b.get("replacement_id"):
        epcs.append(battery_uri(b["replacement_id"], aliases))
    health = {"type": f"{PREFIX}:StateOfHealth", "value": b["state_of_health"], "uom": ONE}
    return {
        "type": "ObjectEvent",
        "epcList": epcs,
        "action": "OBSERVE",
        "bizStep": SERVICE_STEPS[b["action"]],
        **_where(r),
        "sensorElementList": [{"sensorReport": [health]}],
    }, frozenset({"battery_id", "state_of_health"})  # action and replacement_id stay: which step, which epc is new


def _collected(r: dict[str, Any], b: dict[str, Any], aliases: Mapping[str, str]) -> tuple[Fields, frozenset[str]]:
    return {
        "type": "ObjectEvent",
        "epcList": [battery_uri(b["battery_id"], aliases)],
        "action": "OBSERVE",
        "bizStep": "collecting",
        **_where(r),
        "destinationList": [{"type": "possessing_party", "destination": party_uri(b["collector_id"])}],
    }, frozenset({"battery_id", "collector_id"})


def _dismantled(r: dict[str, Any], b: dict[str, Any], aliases: Mapping[str, str]) -> tuple[Fields, frozenset[str]]:
    return {
        "type": "TransformationEvent",
        "inputEPCList": [battery_uri(b["battery_id"], aliases)],
        "outputQuantityList": [_quantity(b["output_lot_id"], b["output_mass_kg"])],
        "bizStep": "disassembling",
        **_where(r),
    }, frozenset({"battery_id", "output_lot_id", "output_mass_kg"})


def _recycled(r: dict[str, Any], b: dict[str, Any], aliases: Mapping[str, str]) -> tuple[Fields, frozenset[str]]:
    return {
        "type": "TransformationEvent",
        "inputQuantityList": [_quantity(i["lot_id"], i["mass_kg"]) for i in b["inputs"]],
        "outputQuantityList": [_quantity(o["lot_id"], o["mass_kg"]) for o in b["outputs"]],
        "bizStep": "commissioning",
        **_where(r),
    }, frozenset({"inputs", "outputs"})


def _repurposed(r: dict[str, Any], b: dict[str, Any], aliases: Mapping[str, str]) -> tuple[Fields, frozenset[str]]:
    return {
        "type": "TransformationEvent",
        "inputEPCList": [battery_uri(b["battery_id"], aliases)],
        "outputEPCList": [battery_uri(b["new_battery_id"], aliases)],
        "bizStep": "commissioning",
        "disposition": "active",
        **_where(r),
        "destinationList": [{"type": "owning_party", "destination": party_uri(b["repurposer_id"])}],
    }, frozenset({"battery_id", "new_battery_id", "repurposer_id"})


def _consignment(r: dict[str, Any], b: dict[str, Any], aliases: Mapping[str, str]) -> tuple[Fields, frozenset[str]]:
    shipment = shipment_uri(r["consignment_id"])
    return {
        "type": "TransactionEvent",
        "bizTransactionList": [{"type": "desadv", "bizTransaction": shipment}],
        "epcList": [battery_uri(x, aliases) for x in b["battery_ids"]],
        **({"quantityList": [_quantity(x) for x in b["lot_ids"]]} if b["lot_ids"] else {}),
        "action": "ADD",
        "bizStep": "consigning",
        "bizLocation": {"id": site_uri(b["origin_site"])},
        "sourceList": [{"type": "location", "source": site_uri(b["origin_site"])}],
        "destinationList": [{"type": "location", "destination": site_uri(b["destination_site"])}],
    }, frozenset({"battery_ids", "lot_ids", "origin_site", "destination_site"})


def _freight(step: str, disposition: str | None) -> Mapper:
    """A consignment's own movement: the consignment as the observed logistic unit, where it was as a sensor fix."""

    def freight(r: dict[str, Any], b: dict[str, Any], aliases: Mapping[str, str]) -> tuple[Fields, frozenset[str]]:
        event: Fields = {
            "type": "ObjectEvent",
            "epcList": [shipment_uri(r["consignment_id"])],
            "action": "OBSERVE",
            "bizStep": step,
        }
        if disposition:
            event["disposition"] = disposition
        if b.get("site_id"):
            event |= {"readPoint": {"id": site_uri(b["site_id"])}, "bizLocation": {"id": site_uri(b["site_id"])}}
        if b.get("receiver_id"):
            event["destinationList"] = [{"type": "possessing_party", "destination": party_uri(b["receiver_id"])}]
        event["sensorElementList"] = [{"sensorReport": _position(b["lat"], b["lon"])}]
        return event, frozenset({"site_id", "receiver_id", "lat", "lon"})

    return freight


def _assay(r: dict[str, Any], b: dict[str, Any], aliases: Mapping[str, str]) -> tuple[Fields, frozenset[str]]:
    reports = [
        {"type": "Dimensionless", "chemicalSubstance": urn("element", f["element"]), "value": f["fraction"], "uom": ONE}
        for f in r["fractions"]
    ]
    return {
        "type": "ObjectEvent",
        "quantityList": [_quantity(r["lot_id"], r["lot_mass_kg"])],
        "action": "OBSERVE",
        "bizStep": "inspecting",
        "certificationInfo": [urn("certificate", r["certificate_ref"])],
        "sensorElementList": [
            {
                "sensorMetadata": {"time": iso_time(r["sampled_at"])},
                "sensorReport": [*reports, *_position(r["sample_lat"], r["sample_lon"])],
            }
        ],
    }, frozenset({"lot_id", "lot_mass_kg", "certificate_ref", "sampled_at", "sample_lat", "sample_lon", "fractions"})


def _licence(r: dict[str, Any], b: dict[str, Any], aliases: Mapping[str, str]) -> tuple[Fields, frozenset[str]]:
    return {
        "type": "ObjectEvent",
        "epcList": [party_uri(r["entity_id"])],
        "action": "OBSERVE",
        "certificationInfo": [urn("certificate", r["licence_number"])],
    }, frozenset({"entity_id", "licence_number"})


def _report_step(r: dict[str, Any], b: dict[str, Any], aliases: Mapping[str, str]) -> tuple[Fields, frozenset[str]]:
    event: Fields = {
        "type": "ObjectEvent",
        "epcList": [shipment_uri(r["shipment_id"])],
        "action": "OBSERVE",
        "bizStep": "inspecting",
        "certificationInfo": [urn("report", r["report_hash"])],
    }
    if r["kind"] in REVIEW_DISPOSITIONS:
        event["disposition"] = REVIEW_DISPOSITIONS[r["kind"]]
    return event, frozenset({"shipment_id", "report_hash"})


MAPPERS: dict[str, Mapper] = {
    "Commissioned": _commissioned,
    "Assembled": _assembled,
    "MaterialConsumed": _consumed,
    "EnergyUsed": _energy,
    "VehicleIntegrated": _integrated,
    "Serviced": _serviced,
    "EndOfLifeCollected": _collected,
    "Dismantled": _dismantled,
    "Recycled": _recycled,
    "Repurposed": _repurposed,
    "ConsignmentCreated": _consignment,
    "Departed": _freight("departing", "in_transit"),
    "Position": _freight("sensor_reporting", "in_transit"),
    "Arrived": _freight("arriving", "in_transit"),
    "Delivered": _freight("receiving", None),
    "Assay": _assay,
    "Licence": _licence,
    "ReportDrafted": _report_step,
    "ReportCosigned": _report_step,
    "ReportRefused": _report_step,
}


def _plain(name: str, value: Any) -> Any:
    return iso_time(value) if name in TIME_FIELDS else value


def _aliases_named(event: Fields, aliases: Mapping[str, str]) -> dict[str, str]:
    """Digital Link -> GB/T 34014 code, for each aliased battery the event names."""
    named = {*event.get("epcList", ()), *event.get("childEPCs", ()), *event.get("inputEPCList", ())}
    named |= {*event.get("outputEPCList", ()), event.get("parentID")}
    return {link: code for code, link in aliases.items() if link in named}


def epcis_event(sealed: SealedEvent, aliases: Mapping[str, str]) -> dict[str, Any]:
    """The EPCIS 2.0 event of a sealed event, without its ``eventID`` (the GS1 hash of this very content).

    ``aliases``: GB/T 34014 code -> SGTIN Digital Link of every battery that has one."""
    mapper = MAPPERS.get(sealed.kind)
    if mapper is None:
        raise ValueError(f"no EPCIS mapping for event kind {sealed.kind!r}")
    r = sealed.record
    b = body_of(r)
    if sealed.kind == "Commissioned" and b.get("sgtin"):  # it names its battery by the alias it gives, whatever else
        aliases = {**aliases, b["battery_id"]: b["sgtin"]}  # is known: capture reads the sgtin back from it
    fields, mapped = mapper(r, b, aliases)
    event: dict[str, Any] = {
        "type": fields.pop("type"),
        "eventTime": iso_time(r["event_time"]),
        "eventTimeZoneOffset": r.get("tz_offset", "+00:00"),
        **fields,
    }
    extension: dict[str, Any] = {
        "eventId": r["event_id"],
        "kind": sealed.kind,
        "eventHash": sealed.event_hash,
        "seals": [
            {"entity": s.entity, "seq": s.seq, "chainHash": s.chain_hash, "logId": s.log_id, "logIndex": s.log_index}
            for s in sealed.seals
        ],
    }
    rest = {k: _plain(k, v) for k, v in b.items() if k not in mapped | ALWAYS_MAPPED and v is not None}
    if rest:
        extension["fields"] = rest
    named = _aliases_named(event, aliases)
    if named:
        extension["aliases"] = named
    event[SEALED] = extension
    return event
