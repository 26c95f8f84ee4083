"""One captured EPCIS 2.0 event back to the battrace event a native source would publish: the inverse of events.py.

Which event kind an EPCIS event is follows from its type, CBV bizStep and what it names (the table in events.py
read backwards: an ObjectEvent ``commissioning`` is a ``Commissioned``, an ObjectEvent ``inspecting`` of a lot
quantity an ``Assay``, of a consignment a report step, of a battery a ``Serviced`` ...). An event that carries
``battrace:sealed`` (every event battrace exports does) must agree with the ``kind`` it names there.

The fields come from where the export put them: EPCIS fields for what EPCIS has a place for, ``battrace:sealed``
``fields`` (named as in the event contract, times as RFC 3339) for the rest, ``aliases`` for the GB/T 34014 code of a
battery named by its SGTIN Digital Link. A contract field found nowhere takes its Avro default, or the event is
unmappable, naming the field. Fields the contract does not have are not sealed, as for a native event written with a
newer schema. The record is encoded under the shipped contract, so an exported event comes back as the same bytes:
``export -> capture`` is the identity on sealed records (tests/unit/epcis/test_epcis_capture.py, every kind).

Everything here is pure: the same event always gives the same record, so a replayed capture seals the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from battrace.domain.sources import ASSAY_RESULT, LICENSED_ENTITY, LOGISTICS_EVENT, MES_EVENT, REPORT_EVENT
from battrace.epcis import resolve
from battrace.epcis.events import DEGREE, KGM, KWH, NAMESPACE, PREFIX, REVIEW_DISPOSITIONS, SERVICE_STEPS
from battrace.epcis.resolve import Unresolvable
from schemas.catalog import contract
from schemas.codec import encode
from schemas.reasons import Reason
from streams import topics

TOPIC_OF_SCHEMA = {
    MES_EVENT: topics.MES.name,
    LOGISTICS_EVENT: topics.LOGISTICS.name,
    ASSAY_RESULT: topics.ASSAY.name,
    LICENSED_ENTITY: topics.REGISTRY.name,
    REPORT_EVENT: topics.REPORTS.name,
}
# CBV terms come bare ("commissioning"), as Web URIs or as URNs; JSON-LD compact forms with the gs1/cbv prefixes too
_CBV_FORMS = re.compile(
    r"^(?:https://ref\.gs1\.org/cbv/[A-Za-z]+-|urn:epcglobal:cbv:[a-z]+:|gs1:|cbv:|https://gs1\.org/voc/)"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_ACTION = {"inspecting": "INSPECTED", "repairing": "REPAIRED", "replacing": "REPLACED"}
FREIGHT_STEPS = {"departing": "Departed", "arriving": "Arrived", "receiving": "Delivered"}
KIND_OF_DISPOSITION = {None: "ReportDrafted", **{v: k for k, v in REVIEW_DISPOSITIONS.items()}}


class NotCaptured(ValueError):
    """An event that cannot become a battrace event: ``reason`` for the reject row, ``detail`` says what to fix."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def unmappable(detail: str) -> NotCaptured:
    return NotCaptured(Reason.EPCIS_UNMAPPABLE, detail)


@dataclass(frozen=True)
class Mapped:
    """The battrace event of an EPCIS event: its source topic, contract, kind, and value as a native source would
    publish it (Avro single-object encoding under the shipped contract)."""

    topic: str
    schema: str
    kind: str
    event_id: str
    value: bytes


class Names:
    """The keys of battrace's extension in one document: ``<prefix>:<name>`` for every prefix its ``@context`` binds
    to battrace's namespace (``battrace`` when none is bound), or the full IRI."""

    def __init__(self, context: Any) -> None:
        contexts = context if isinstance(context, list) else [context]
        bound = [p for c in contexts if isinstance(c, dict) for p, iri in c.items() if iri == NAMESPACE]
        self.prefixes = tuple(bound) or (PREFIX,)

    def get(self, mapping: Mapping[str, Any], name: str) -> Any:
        for prefix in self.prefixes:
            if f"{prefix}:{name}" in mapping:
                return mapping[f"{prefix}:{name}"]
        return mapping.get(NAMESPACE + name)

    def local(self, key: str) -> str | None:
        """``name`` of ``<prefix>:name`` or of the full IRI; None for a key of another namespace."""
        for prefix in self.prefixes:
            if key.startswith(f"{prefix}:"):
                return key[len(prefix) + 1 :]
        return key[len(NAMESPACE) :] if key.startswith(NAMESPACE) else None


def term(value: Any) -> str | None:
    """A CBV term in its bare form ("commissioning"), whichever form the event wrote it in."""
    return _CBV_FORMS.sub("", value) if isinstance(value, str) else None


def epoch_ms(value: Any, what: str) -> int:
    """An RFC 3339 time with its offset as epoch milliseconds (finer digits cut, as the contracts hold ms)."""
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise NotCaptured(Reason.EPCIS_INVALID, f"{what} {value!r} is not an RFC 3339 time with an offset")
    delta = when - _EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


class _Event:
    """One EPCIS event being read: its fields, its battrace extension, and one-line errors naming what is wrong."""

    def __init__(self, event: Mapping[str, Any], names: Names) -> None:
        self.event = event
        self.names = names
        sealed = names.get(event, "sealed")
        self.ext: Mapping[str, Any] = sealed if isinstance(sealed, Mapping) else {}
        fields = self.ext.get("fields")
        self.fields: Mapping[str, Any] = fields if isinstance(fields, Mapping) else {}
        aliases = self.ext.get("aliases")
        self.aliases: Mapping[str, str] = aliases if isinstance(aliases, Mapping) else {}
        self.type = event.get("type")
        self.biz_step = term(event.get("bizStep"))

    def items(self, name: str) -> list[Any]:
        value = self.event.get(name, [])
        if not isinstance(value, list):
            raise unmappable(f"{name} is not a list")
        return value

    def single(self, name: str) -> Any:
        value = self.items(name)
        if len(value) != 1:
            raise unmappable(f"{name} has {len(value)} entries; this event names exactly one")
        return value[0]

    def place(self, name: str) -> Any:
        value = self.event.get(name)
        return value.get("id") if isinstance(value, Mapping) else None

    def party(self, listed: str, kind: str) -> Any:
        """The URI of the ``kind`` entry (CBV source/destination type) of sourceList or destinationList."""
        key = listed.removesuffix("List")
        found = [x.get(key) for x in self.items(listed) if isinstance(x, Mapping) and term(x.get("type")) == kind]
        if len(found) != 1:
            raise unmappable(f"{listed} has {len(found)} entries of type {kind}; this event names exactly one")
        return found[0]

    def certificate(self, kind: str) -> str:
        info = self.event.get("certificationInfo")
        listed = info if isinstance(info, list) else [] if info is None else [info]
        if len(listed) != 1:
            raise unmappable(f"certificationInfo has {len(listed)} entries; this event names exactly one {kind}")
        return resolve.named(listed[0], kind)

    def reports(self) -> list[Mapping[str, Any]]:
        return [
            r
            for element in self.items("sensorElementList")
            if isinstance(element, Mapping)
            for r in element.get("sensorReport", [])
            if isinstance(r, Mapping)
        ]

    def measured(self, measurement: str, uom: str) -> Any:
        found = [r for r in self.reports() if self._type_of(r) == measurement]
        if len(found) != 1:
            raise unmappable(f"sensorElementList has {len(found)} {measurement} reports; this event has exactly one")
        if found[0].get("uom") != uom:
            raise unmappable(f"the {measurement} report is in {found[0].get('uom')!r}, not {uom}")
        return number(found[0].get("value"), measurement)

    def position(self) -> tuple[float, float]:
        """Latitude and longitude: the Angle reports of those components, in decimal degrees."""
        where = {term(r.get("component")): r for r in self.reports() if r.get("component") is not None}
        values = []
        for component in ("latitude", "longitude"):
            report = where.get(component)
            if report is None:
                raise unmappable(f"sensorElementList has no {component} report")
            if report.get("uom") != DEGREE:
                raise unmappable(f"the {component} report is in {report.get('uom')!r}, not {DEGREE} (decimal degrees)")
            values.append(number(report.get("value"), component))
        return values[0], values[1]

    def _type_of(self, report: Mapping[str, Any]) -> str | None:
        kind = report.get("type")
        local = self.names.local(kind) if isinstance(kind, str) else None
        return local if local is not None else term(kind)

    def battery(self, uri: Any) -> str:
        return resolve.battery(uri, self.aliases)


def number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise unmappable(f"{what} {value!r} is not a number")
    return value


def _kilograms(element: Any, what: str) -> tuple[str, float]:
    if not isinstance(element, Mapping):
        raise unmappable(f"{what} entry {element!r} is not a quantity element")
    if element.get("uom") != KGM:
        raise unmappable(f"{what} of {element.get('epcClass')!r} is in {element.get('uom')!r}, not {KGM} (kg)")
    return resolve.lot(element.get("epcClass")), number(element.get("quantity"), f"{what} quantity")


def _lots(e: _Event, name: str) -> list[dict[str, Any]]:
    return [dict(zip(("lot_id", "mass_kg"), _kilograms(q, name), strict=True)) for q in e.items(name)]


# ---- event kind: what the export writes for each kind, read backwards --------------------------------------------


def _object_kind(e: _Event) -> str | None:
    epcs = e.event.get("epcList") or []
    first = epcs[0] if isinstance(epcs, list) and epcs else None
    step = e.biz_step
    if step == "commissioning":
        return "Commissioned"
    if step in FREIGHT_STEPS:
        return FREIGHT_STEPS[step]
    if step == "sensor_reporting":
        return "Position" if resolve.is_kind(first, "shipment") else "EnergyUsed"
    if step == "collecting":
        return "EndOfLifeCollected"
    if step == "inspecting" and first is None and e.event.get("quantityList"):
        return "Assay"
    if step == "inspecting" and resolve.is_kind(first, "shipment"):
        return KIND_OF_DISPOSITION.get(term(e.event.get("disposition")))
    if step in DEFAULT_ACTION:
        return "Serviced"
    if step is None and resolve.is_kind(first, "party"):
        return "Licence"
    return None


def kind_of(e: _Event) -> str | None:
    """The battrace event kind the EPCIS event is, or None when it is none of them."""
    step = e.biz_step
    if e.type == "ObjectEvent":
        return _object_kind(e)
    if e.type == "AggregationEvent":
        return "Assembled" if step == "assembling" else None
    if e.type == "AssociationEvent":
        return "VehicleIntegrated" if step == "installing" else None
    if e.type == "TransactionEvent":
        return "ConsignmentCreated" if step == "consigning" else None
    if e.type == "TransformationEvent":
        if step == "disassembling":
            return "Dismantled"
        if step == "commissioning":
            if e.event.get("inputEPCList"):
                return "Repurposed"
            return "MaterialConsumed" if e.event.get("outputEPCList") else "Recycled"
    return None


# ---- the fields of each kind ---------------------------------------------------------------------------------------

Reader = Callable[[_Event], dict[str, Any]]


def _where(e: _Event) -> dict[str, Any]:
    site = resolve.site(e.place("bizLocation"))
    point = e.place("readPoint")
    return {"site_id": site, "line_id": "" if point is None else resolve.read_point(point, site)}


def _commissioned(e: _Event) -> dict[str, Any]:
    epc = e.single("epcList")
    ilmd = e.event.get("ilmd")
    rated = {}
    if isinstance(ilmd, Mapping):
        rated = {local: v for k, v in ilmd.items() if (local := e.names.local(k))}
    return {
        **rated,
        "battery_id": e.battery(epc),
        "sgtin": None if resolve.urn_ids(epc, "battery") is not None else epc,
        "certification_number": e.certificate("certificate"),
    }


def _assembled(e: _Event) -> dict[str, Any]:
    return {
        "parent_id": e.battery(e.event.get("parentID")),
        "child_ids": [e.battery(c) for c in e.items("childEPCs")],
    }


def _consumed(e: _Event) -> dict[str, Any]:
    return {"battery_id": e.battery(e.single("outputEPCList")), "inputs": _lots(e, "inputQuantityList")}


def _energy(e: _Event) -> dict[str, Any]:
    return {"battery_id": e.battery(e.single("epcList")), "energy_kwh": e.measured("Energy", KWH)}


def _integrated(e: _Event) -> dict[str, Any]:
    return {"battery_id": e.battery(e.single("childEPCs")), "vin": resolve.named(e.event.get("parentID"), "vehicle")}


def _serviced(e: _Event) -> dict[str, Any]:
    epcs = e.items("epcList")
    if len(epcs) not in (1, 2):
        raise unmappable(f"epcList has {len(epcs)} entries; a service names the pack and maybe its replacement")
    action = e.fields.get("action", DEFAULT_ACTION[e.biz_step or ""])
    if not isinstance(action, str) or SERVICE_STEPS.get(action) != e.biz_step:
        raise unmappable(f"service action {action!r} is not bizStep {e.biz_step}")
    return {
        "battery_id": e.battery(epcs[0]),
        "action": action,
        "replacement_id": e.battery(epcs[1]) if len(epcs) == 2 else None,
        "state_of_health": e.measured("StateOfHealth", "C62"),
    }


def _collected(e: _Event) -> dict[str, Any]:
    return {
        "battery_id": e.battery(e.single("epcList")),
        "collector_id": resolve.party(e.party("destinationList", "possessing_party")),
    }


def _dismantled(e: _Event) -> dict[str, Any]:
    lot, mass = _kilograms(e.single("outputQuantityList"), "outputQuantityList")
    return {"battery_id": e.battery(e.single("inputEPCList")), "output_lot_id": lot, "output_mass_kg": mass}


def _recycled(e: _Event) -> dict[str, Any]:
    return {"inputs": _lots(e, "inputQuantityList"), "outputs": _lots(e, "outputQuantityList")}


def _repurposed(e: _Event) -> dict[str, Any]:
    return {
        "battery_id": e.battery(e.single("inputEPCList")),
        "new_battery_id": e.battery(e.single("outputEPCList")),
        "repurposer_id": resolve.party(e.party("destinationList", "owning_party")),
    }


def _consignment(e: _Event) -> dict[str, Any]:
    desadv = [t for t in e.items("bizTransactionList") if isinstance(t, Mapping) and term(t.get("type")) == "desadv"]
    if len(desadv) != 1:
        raise unmappable(f"bizTransactionList has {len(desadv)} desadv entries; a consignment is exactly one")
    return {
        "consignment_id": resolve.named(desadv[0].get("bizTransaction"), "shipment"),
        "battery_ids": [e.battery(x) for x in e.items("epcList")],
        "lot_ids": [resolve.lot(q.get("epcClass") if isinstance(q, Mapping) else q) for q in e.items("quantityList")],
        "origin_site": resolve.site(e.party("sourceList", "location")),
        "destination_site": resolve.site(e.party("destinationList", "location")),
    }


def _freight(e: _Event) -> dict[str, Any]:
    lat, lon = e.position()
    found: dict[str, Any] = {"consignment_id": resolve.named(e.single("epcList"), "shipment"), "lat": lat, "lon": lon}
    if e.place("bizLocation") is not None:
        found["site_id"] = resolve.site(e.place("bizLocation"))
    if e.event.get("destinationList"):
        found["receiver_id"] = resolve.party(e.party("destinationList", "possessing_party"))
    return found


def _assay(e: _Event) -> dict[str, Any]:
    lot, mass = _kilograms(e.single("quantityList"), "quantityList")
    elements = [x for x in e.items("sensorElementList") if isinstance(x, Mapping)]
    metadata = elements[0].get("sensorMetadata") if len(elements) == 1 else None
    if not isinstance(metadata, Mapping):
        raise unmappable("an assay has one sensorElement whose sensorMetadata gives the sample time")
    lat, lon = e.position()
    fractions = [
        {"element": resolve.named(r["chemicalSubstance"], "element"), "fraction": number(r.get("value"), "fraction")}
        for r in e.reports()
        if "chemicalSubstance" in r
    ]
    return {
        "lot_id": lot,
        "lot_mass_kg": mass,
        "certificate_ref": e.certificate("certificate"),
        "sampled_at": epoch_ms(metadata.get("time"), "sensorMetadata.time"),
        "sample_lat": lat,
        "sample_lon": lon,
        "fractions": fractions,
    }


def _licence(e: _Event) -> dict[str, Any]:
    return {"entity_id": resolve.party(e.single("epcList")), "licence_number": e.certificate("certificate")}


def _report_step(e: _Event) -> dict[str, Any]:
    return {
        "kind": KIND_OF_DISPOSITION[term(e.event.get("disposition"))],
        "shipment_id": resolve.named(e.single("epcList"), "shipment"),
        "report_hash": e.certificate("report"),
    }


READERS: dict[str, tuple[str, Reader]] = {  # kind: (contract, reader of its fields)
    "Commissioned": (MES_EVENT, _commissioned),
    "Assembled": (MES_EVENT, _assembled),
    "MaterialConsumed": (MES_EVENT, _consumed),
    "EnergyUsed": (MES_EVENT, _energy),
    "VehicleIntegrated": (MES_EVENT, _integrated),
    "Serviced": (MES_EVENT, _serviced),
    "EndOfLifeCollected": (MES_EVENT, _collected),
    "Dismantled": (MES_EVENT, _dismantled),
    "Recycled": (MES_EVENT, _recycled),
    "Repurposed": (MES_EVENT, _repurposed),
    "ConsignmentCreated": (LOGISTICS_EVENT, _consignment),
    "Departed": (LOGISTICS_EVENT, _freight),
    "Position": (LOGISTICS_EVENT, _freight),
    "Arrived": (LOGISTICS_EVENT, _freight),
    "Delivered": (LOGISTICS_EVENT, _freight),
    "Assay": (ASSAY_RESULT, _assay),
    "Licence": (LICENSED_ENTITY, _licence),
    "ReportDrafted": (REPORT_EVENT, _report_step),
    "ReportCosigned": (REPORT_EVENT, _report_step),
    "ReportRefused": (REPORT_EVENT, _report_step),
}
ENVELOPE_FIELDS = {MES_EVENT: ("site_id", "line_id"), LOGISTICS_EVENT: ("consignment_id",)}  # outside the body


# ---- the record, field by field from the contract ------------------------------------------------------------------


@cache
def _record_schemas(schema: str) -> dict[str, dict[str, Any]]:
    """The contract's record and, for MES and logistics, each body record, by short name ("" = the contract)."""
    raw = contract(schema).raw
    records = {"": raw}
    for field in raw["fields"]:
        if field["name"] == "body":
            records |= {branch["name"]: branch for branch in field["type"] if isinstance(branch, dict)}
    return records


def _is_time(field: dict[str, Any]) -> bool:
    kind = field["type"]
    return isinstance(kind, dict) and kind.get("logicalType") == "timestamp-millis"


def _fill(record_schema: dict[str, Any], found: Mapping[str, Any], extra: Mapping[str, Any], kind: str) -> dict:
    """The record's fields in contract order: read from the EPCIS fields, else the extension's ``fields``, else the
    contract's default; a field with none of the three makes the event unmappable."""
    filled: dict[str, Any] = {}
    for field in record_schema["fields"]:
        name = field["name"]
        if name in found:
            filled[name] = found[name]
        elif name in extra:
            value = extra[name]
            filled[name] = epoch_ms(value, f"battrace:sealed.fields.{name}") if _is_time(field) else value
        elif "default" in field:
            filled[name] = field["default"]
        else:
            raise unmappable(f"{kind} needs {name}, which the event gives nowhere (battrace:sealed fields.{name})")
    return filled


def _header(e: _Event, event_id: str) -> dict[str, Any]:
    offset = e.event.get("eventTimeZoneOffset", "+00:00")
    return {
        "event_id": event_id,
        "event_time": epoch_ms(e.event.get("eventTime"), "eventTime"),
        "tz_offset": offset,
    }


def declared_event_id(event: Mapping[str, Any], names: Names) -> str | None:
    """The event id an event brings: battrace's own (``battrace:sealed`` ``eventId``), else its EPCIS ``eventID``."""
    sealed = names.get(event, "sealed")
    own = sealed.get("eventId") if isinstance(sealed, Mapping) else None
    if isinstance(own, str) and own:
        return own
    given = event.get("eventID")
    return given if isinstance(given, str) and given else None


def capture_event(event: Mapping[str, Any], names: Names, event_id: str) -> Mapped:
    """The battrace event of one EPCIS event; ``event_id``: the id it is sealed under (capture_message.py says which).

    Raises NotCaptured with a reason and a detail naming what to fix."""
    e = _Event(event, names)
    kind = kind_of(e)
    if kind is None:
        raise unmappable(f"a {e.type} with bizStep {e.biz_step} is no battrace event kind (events.py lists them)")
    claimed = e.ext.get("kind")
    if claimed is not None and claimed != kind:
        raise unmappable(f"battrace:sealed says kind {claimed!r}, but a {e.type} {e.biz_step} is a {kind}")
    schema, reader = READERS[kind]
    try:
        found = reader(e) | _header(e, event_id) | (_where(e) if schema == MES_EVENT else {})
    except Unresolvable as exc:
        raise unmappable(str(exc)) from None
    records = _record_schemas(schema)
    extra = dict(e.fields)
    if "body" in {f["name"] for f in records[""]["fields"]}:
        body = _fill(records[kind], found, extra, kind)
        outer = {k: found[k] for k in ("event_id", "event_time", "tz_offset", *ENVELOPE_FIELDS[schema])}
        found = outer | {"body": (f"{records[''].get('namespace')}.{kind}", body)}
    record = _fill(records[""], found, extra, kind)
    try:
        value = encode(schema, record)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise unmappable(f"{kind} does not fit the {schema} contract: {type(exc).__name__}: {exc}") from None
    return Mapped(TOPIC_OF_SCHEMA[schema], schema, kind, event_id, value)
