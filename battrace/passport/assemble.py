"""Assemble a battery's passport document from verified facts, then cut it down to one audience. Pure: no I/O.

Every attribute is a verified value (with its unit and the rows it comes from), or ``{"value": null, "missing":
why}`` when the sealed records do not hold it, or ``{"value": null, "pending": why}`` when the act that fixes its
format is not adopted yet. Absence is never written as 0, "" or a default: a projection column the worker fills
with 0 or "" when no event gave it is treated as missing. Each attribute carries its Annex XIII point and the
audiences that may see it, both from the schema's table (battrace/passport/schema.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from battrace.domain.footprint import STAGES
from battrace.passport.access import AUDIENCES, audiences_of, may_see
from battrace.passport.facts import BatteryEvent, PassportFacts
from battrace.passport.schema import clusters, field_points

FORMAT = "battrace-passport/1"
NOT_SEALED = "no sealed event carries {what}"
NO_AUDIT = "`battrace audit` has not run on this store: run it, then ask again"
CRM_THRESHOLD = 0.001  # Annex VI Part A: critical raw materials above 0.1 % w/w
CF_CLASS_PENDING = "performance classes await the delegated act of Art. 7(2); not yet required"
DD_PENDING = "the due-diligence report format awaits the Commission's act under Art. 52; not yet required"
CATEGORY_OF_VEHICLE = {"L": "lmt", "M": "ev", "N": "ev"}  # UNECE category letter -> Battery Pass batteryCategory


def present(value: Any, source: str, unit: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"value": value, "source": source}
    if unit is not None:
        out["unit"] = unit
    return {**out, **extra}


def missing(why: str) -> dict[str, Any]:
    return {"value": None, "missing": why}


def pending(why: str) -> dict[str, Any]:
    return {"value": None, "pending": why}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _given(row: Mapping[str, Any], column: str) -> Any:
    """A projection column as the sources gave it, or None where the worker's default (0, "", unknown) stands."""
    value = row.get(column)
    return None if value in (None, "", 0, 0.0, "unknown", []) else value


def _last(events: list[BatteryEvent], kind: str) -> BatteryEvent | None:
    found = [e for e in events if e.kind == kind]
    return found[-1] if found else None


def _projected(facts: PassportFacts, column: str, what: str, unit: str | None = None) -> dict[str, Any]:
    value = _given(facts.projection, column)
    if value is None:
        return missing(NOT_SEALED.format(what=what))
    return present(value, f"batteries.{column} (verified projection)", unit)


def _general(f: PassportFacts) -> dict[str, Any]:
    events = list(f.events)
    commissioned = _last(events, "Commissioned")
    integrated = _last(events, "VehicleIntegrated")
    category = _given(f.projection, "vehicle_category")
    return {
        "productIdentifier": present(f.battery_id, "GB/T 34014 code of the battery's chain"),
        "digitalLink": _projected(f, "digital_link", "a GS1 Digital Link for this battery (Commissioned.sgtin)"),
        "batteryCategory": (
            present(CATEGORY_OF_VEHICLE[category[0]], f"vehicle category {category} (VehicleIntegrated)")
            if category and category[0] in CATEGORY_OF_VEHICLE
            else missing(
                "the category is known once a VehicleIntegrated event names the vehicle category; "
                + ("none did" if not category else f"{category} maps to no Battery Pass category")
            )
        ),
        "productType": _projected(f, "product_type", "the product type (Commissioned)"),
        "batteryModel": _projected(f, "model", "the battery model (Commissioned.model)"),
        "certificationNumber": _projected(f, "certification", "a certification number (Commissioned)"),
        "manufacturerInformation": missing(
            NOT_SEALED.format(what="the manufacturer's name and postal address (sources send a site id only)")
        ),
        "manufacturingPlace": _projected(f, "site_id", "the manufacturing site (Commissioned.site_id)"),
        "manufacturingDate": (
            present(_iso(commissioned.time_ms)[:7], "Commissioned event time (month, Annex VI Part A)")
            if commissioned
            else missing(NOT_SEALED.format(what="the commissioning of this battery"))
        ),
        "batteryMass": _projected(f, "mass_kg", "the battery's mass (Commissioned.mass_kg)", "kg"),
        "warrentyPeriod": missing(NOT_SEALED.format(what="a commercial warranty")),
        "batteryStatus": present(f.projection["status"], "batteries.status (lifecycle state machine)")
        if _given(f.projection, "status")
        else missing("no lifecycle event set a status yet"),
        "puttingIntoService": (
            present(
                {
                    "date": _iso(integrated.time_ms),
                    "vin": integrated.body.get("vin"),
                    "vehicleModel": integrated.body.get("vehicle_model"),
                    "vehicleCategory": integrated.body.get("vehicle_category"),
                },
                "VehicleIntegrated event",
                lastUpdate=_iso(integrated.time_ms),
            )
            if integrated
            else missing("not put into service: no VehicleIntegrated event for this battery")
        ),
    }


def _labels(_: PassportFacts) -> dict[str, Any]:
    return {
        "labels": missing(NOT_SEALED.format(what="label data (Art. 13 symbols)")),
        "declarationOfConformity": missing(NOT_SEALED.format(what="an EU declaration of conformity")),
        "resultOfTestReport": missing(NOT_SEALED.format(what="test report results for this battery")),
    }


def _carbon(f: PassportFacts) -> dict[str, Any]:
    total = (
        present(round(sum(f.carbon_kg.values()), 6), "sum of the battery's verified carbon ledger lines", "kg CO2e")
        if f.carbon_kg
        else missing("no carbon ledger line is sealed for this battery")
    )
    if f.footprint is None:
        why = NO_AUDIT if not f.audited else "the audit computed no footprint for this battery"
        per_kwh, stages = missing(why), missing(why)
    else:
        fp = f.footprint
        note = "incomplete: no ledger line for " + ", ".join(fp["missing_stages"]) if not fp["complete"] else None
        per_kwh = present(
            round(fp["total_per_kwh"], 6),
            "footprints row (battrace audit, verified)",
            "kg CO2e/kWh",
            **({"note": note} if note else {}),
        )
        stages = present(
            [
                {"lifecycleStage": s, "carbonFootprint": round(fp[f"{s}_per_kwh"], 6)}
                if fp.get(f"{s}_per_kwh") is not None
                else {"lifecycleStage": s, "missing": f"no carbon ledger line for the {s} stage"}
                for s in STAGES
            ],
            "footprints row (battrace audit, verified)",
            "kg CO2e/kWh",
        )
    return {
        "batteryCarbonFootprint": per_kwh,
        "carbonFootprintPerLifecycleStage": stages,
        "carbonFootprintTotal": total,
        "carbonFootprintPerformanceClass": pending(CF_CLASS_PENDING),
        "carbonFootprintStudy": missing(NOT_SEALED.format(what="a carbon footprint study")),
    }


def _lots_or_missing(f: PassportFacts, build: Callable[[str, Mapping[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    lots = list(f.projection.get("lots") or ())
    if not lots:
        children = list(f.projection.get("children") or ())
        where = f"; its components ({', '.join(children)}) have their own passports" if children else ""
        return missing(f"{f.battery_id} consumed no material lot directly{where}")
    entries = []
    for lot_id in lots:
        row = f.lots.get(lot_id)
        entries.append(build(lot_id, row) if row is not None else {"lotId": lot_id, "missing": "no sealed lot chain"})
    return present(entries, "lot rows recomputed from the lots' sealed events")


def _provenance(lot_id: str, lot: Mapping[str, Any]) -> dict[str, Any]:
    if not lot.get("assayed"):
        return {"lotId": lot_id, "missing": f"no assay for lot {lot_id}: smelter and mines are unknown"}
    out: dict[str, Any] = {"lotId": lot_id, "product": lot.get("product") or None}
    out["smelterId"] = lot.get("smelter_id") or None
    out["mineLicences"] = list(lot.get("mine_licences") or [])
    out["originCountry"] = lot.get("origin_country") or None
    out["assayCertificate"] = lot.get("certificate_ref") or None
    out["labAccreditation"] = lot.get("accreditation") or None
    return {k: v for k, v in out.items() if v not in (None, [])}


def _composition(lot_id: str, lot: Mapping[str, Any]) -> dict[str, Any]:
    if not lot.get("assayed"):
        return {"lotId": lot_id, "missing": f"no assay for lot {lot_id}"}
    fractions = dict(zip(lot.get("elements") or [], lot.get("fractions") or [], strict=True))
    return {
        "lotId": lot_id,
        "product": lot.get("product") or None,
        "massFractions": fractions,
        "assayedAt": _iso(lot["assayed_at"]) if lot.get("assayed_at") else None,
    }


def _flags(f: PassportFacts) -> dict[str, Any]:
    flags = [
        {
            "category": r["category"],
            "code": r["code"],
            "detail": r["detail"],
            "eventId": r["event_id"] or None,
        }
        for r in f.flags
    ]
    return present(flags, "flags rows (stream and audit, verified)" if f.audited else "flags rows (stream, verified)")


def _due_diligence(f: PassportFacts) -> dict[str, Any]:
    return {
        "supplyChainDueDiligenceReport": pending(DD_PENDING),
        "materialProvenance": _lots_or_missing(f, _provenance),
        "complianceFlags": _flags(f),
    }


def _element_rows(f: PassportFacts) -> list[Mapping[str, Any]]:
    return [r for r in f.recycled if r.get("element_kg")]


def _materials(f: PassportFacts) -> dict[str, Any]:
    mass = _given(f.projection, "mass_kg")
    no_rows = NO_AUDIT if not f.audited else "no assayed element (Co, Ni, Li) reaches this battery"
    rows = _element_rows(f)
    if rows and mass:
        crm = [r["element"] for r in rows if r["element_kg"] / mass > CRM_THRESHOLD]
        critical = present(
            crm,
            "recycled_content element mass / battery mass (verified)",
            note="Co, Ni and Li only: the elements the assays trace",
        )
    else:
        critical = missing(no_rows if not rows else "the battery's mass is not sealed")
    materials = (
        present(
            [
                {
                    "materialName": r["element"],
                    "materialWeight": round(r["element_kg"], 6),
                    **({"massFraction": round(r["element_kg"] / mass, 6)} if mass else {}),
                    "isCriticalRawMaterial": True,
                }
                for r in rows
            ],
            "recycled_content element masses through the genealogy (verified)",
            "kg",
        )
        if rows
        else missing(no_rows)
    )
    return {
        "batteryChemistry": _projected(f, "chemistry", "the chemistry (Commissioned.chemistry)"),
        "hazardousSubstances": missing(NOT_SEALED.format(what="hazardous substances")),
        "criticalRawMaterials": critical,
        "batteryMaterials": materials,
        "lotComposition": _lots_or_missing(f, _composition),
    }


def _recycled(f: PassportFacts) -> dict[str, Any]:
    if not f.recycled:
        return missing(NO_AUDIT if not f.audited else "the audit computed no recycled content for this battery")
    entries = []
    for r in sorted(f.recycled, key=lambda r: r["element"]):
        if not r.get("element_kg"):
            why = r.get("missing_reason") or f"no assayed {r['element']} in this battery"
            entries.append({"recycledMaterial": r["element"], "missing": why})
            continue
        entries.append(
            {
                "recycledMaterial": r["element"],
                "preConsumerShare": round(r["pre_consumer_kg"] / r["element_kg"], 6),
                "postConsumerShare": round(r["post_consumer_kg"] / r["element_kg"], 6),
                "complete": bool(r["complete"]),
            }
        )
    return present(entries, "recycled_content rows (battrace audit, verified)")


def _circularity(f: PassportFacts) -> dict[str, Any]:
    children = list(f.projection.get("children") or ())
    parent = _given(f.projection, "parent_id")
    components = (
        present(
            {"children": children, **({"assembledInto": parent} if parent else {})},
            "Assembled events (verified projection)",
        )
        if children or parent
        else missing("no Assembled event names this battery")
    )
    return {
        "recycledContent": _recycled(f),
        "renewableContent": missing(NOT_SEALED.format(what="a renewable content share")),
        "endOfLifeInformation": missing(NOT_SEALED.format(what="waste prevention and collection information")),
        "components": components,
        "sparePartSources": missing(NOT_SEALED.format(what="spare part sources")),
        "dismantlingAndRemovalInformation": missing(NOT_SEALED.format(what="dismantling information")),
        "safetyMeasures": missing(NOT_SEALED.format(what="safety measures or a usable extinguishing agent")),
    }


def _performance(f: PassportFacts) -> dict[str, Any]:
    serviced = _last(list(f.events), "Serviced")
    negative = [e for e in f.events if e.kind == "EndOfLifeCollected" and e.body.get("reason") not in (None, "")]
    return {
        "ratedCapacity": _projected(f, "capacity_ah", "a rated capacity (Commissioned.capacity_ah)", "Ah"),
        "ratedEnergy": _projected(f, "energy_kwh", "a rated energy (Commissioned.energy_kwh)", "kWh"),
        "voltage": missing(NOT_SEALED.format(what="minimum, nominal or maximum voltages")),
        "originalPowerCapability": missing(NOT_SEALED.format(what="an original power capability")),
        "expectedNumberOfCycles": missing(NOT_SEALED.format(what="an expected number of cycles")),
        "stateOfHealth": (
            present(
                serviced.body["state_of_health"],
                "Serviced event (measured state of health)",
                "fraction",
                lastUpdate=_iso(serviced.time_ms),
            )
            if serviced is not None and serviced.body.get("state_of_health") is not None
            else missing("no Serviced event measured this battery's state of health")
        ),
        "numberOfFullCycles": missing(NOT_SEALED.format(what="use data (full cycles)")),
        "negativeEvents": present(
            [{"date": _iso(e.time_ms), "event": e.kind, "reason": e.body["reason"]} for e in negative],
            "EndOfLifeCollected events",
        )
        if negative
        else missing("no sealed event reports a negative event for this battery"),
    }


SECTIONS: dict[str, Callable[[PassportFacts], dict[str, Any]]] = {
    "generalProductInformation": _general,
    "labels": _labels,
    "carbonFootprint": _carbon,
    "supplyChainDueDiligence": _due_diligence,
    "materialComposition": _materials,
    "circularity": _circularity,
    "performance": _performance,
}


def second_life(f: PassportFacts) -> dict[str, list[dict[str, Any]]]:
    """Art. 77(7) links from the battery's sealed Repurposed events: the original it was made from, the code it went
    on under. Only the first of each counts: the lifecycle flags any later one and does not apply it."""
    links: dict[str, list[dict[str, Any]]] = {"derivedFrom": [], "repurposedAs": []}
    for e in f.events:
        if e.kind != "Repurposed":
            continue
        side, other = (
            ("derivedFrom", e.body["battery_id"])
            if e.body.get("new_battery_id") == f.battery_id
            else ("repurposedAs", e.body["new_battery_id"])
        )
        if not links[side]:
            links[side].append(
                {
                    "operation": "repurposing",
                    "batteryId": other,
                    "passportIdentifier": passport_identifier(other),
                    "date": _iso(e.time_ms),
                    "repurposerId": e.body["repurposer_id"],
                    "application": e.body["application"],
                }
            )
    return links


def passport_identifier(battery_id: str) -> str:
    """``urn:battrace:<code>``: the Battery Pass pattern ``^urn:[a-z0-9]+:[a-z0-9]+$`` (one passport per code)."""
    return f"urn:battrace:{battery_id.lower()}"


def assemble(facts: PassportFacts) -> dict[str, Any]:
    """The whole document, every audience's attributes in it, each labelled with its point and audiences."""
    points = field_points()
    doc: dict[str, Any] = {
        "format": FORMAT,
        "audience": None,
        "batteryPassportIdentifier": passport_identifier(facts.battery_id),
        "seal": {
            "verified": True,
            "chainLength": facts.chain_length,
            "chainHead": facts.chain_head,
            "bundle": facts.bundle,
        },
        "secondLife": second_life(facts),
    }
    for cluster in clusters():
        section = SECTIONS[cluster](facts)
        unknown = set(section) ^ {name for (c, name) in points if c == cluster}
        if unknown:  # the schema's table and the assembler must name the same attributes
            raise KeyError(f"{cluster}: attributes not in both the schema and the assembler: {sorted(unknown)}")
        doc[cluster] = {
            name: {**attribute, "access": audiences_of(points[(cluster, name)]), "annexXIII": points[(cluster, name)]}
            for name, attribute in section.items()
        }
    return doc


def for_audience(document: Mapping[str, Any], audience: str) -> dict[str, Any]:
    """The document as ``audience`` may see it: attributes of points it may not see are left out entirely (not
    nulled), decided by the schema's table, not by the labels the document carries."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}: one of {', '.join(AUDIENCES)}")
    points = field_points()
    out: dict[str, Any] = {k: v for k, v in document.items() if k not in clusters()}
    out["audience"] = audience
    for cluster in clusters():
        out[cluster] = {
            name: attribute
            for name, attribute in document[cluster].items()
            if may_see(audience, points[(cluster, name)])
        }
    return out
