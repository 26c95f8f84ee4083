"""Which entities an event is about: the keys of the per-entity chains it extends.

Entity keys are ``type:id`` with type one of battery, lot, shipment, party. Order is fixed by the
event's content (first the event's subject, then the others in field order), so fan-out is deterministic.
"""

from __future__ import annotations

from typing import Any

from battrace.domain.sources import ASSAY_RESULT, LICENSED_ENTITY, LOGISTICS_EVENT, MES_EVENT, REPORT_EVENT

BATTERY, LOT, SHIPMENT, PARTY = "battery", "lot", "shipment", "party"


def entity_key(entity_type: str, entity_id: str) -> str:
    return f"{entity_type}:{entity_id}"


def split_key(key: str) -> tuple[str, str]:
    entity_type, _, entity_id = key.partition(":")
    return entity_type, entity_id


def kind_of(record: dict[str, Any]) -> str:
    """Short name of the event kind: the union branch for MES/logistics, the ``kind`` of a report step, the schema
    for the others."""
    body = record.get("body")
    if isinstance(body, tuple | list):  # a union branch: (full name, fields); a list after a JSON hop
        return body[0].rsplit(".", 1)[-1]
    if "report_hash" in record:
        return str(record["kind"])
    return "Assay" if "lot_id" in record and "fractions" in record else "Licence"


def body_of(record: dict[str, Any]) -> dict[str, Any]:
    body = record.get("body")
    return body[1] if isinstance(body, tuple | list) else record


def battery_ids(schema: str, record: dict[str, Any]) -> list[str]:
    """Every GB/T 34014 code an event names, for syntax checks."""
    b = body_of(record)
    ids: list[str] = []
    for field in ("battery_id", "parent_id", "replacement_id", "new_battery_id"):
        if isinstance(b.get(field), str):
            ids.append(b[field])
    for field in ("child_ids", "battery_ids"):
        ids.extend(b.get(field) or ())
    return ids if schema in (MES_EVENT, LOGISTICS_EVENT) else []


def _dedup(keys: list[str]) -> list[str]:
    return list(dict.fromkeys(keys))


def entities_of(schema: str, record: dict[str, Any]) -> list[str]:
    """Entity keys the event extends, subject first."""
    b = body_of(record)
    kind = kind_of(record)
    if schema == MES_EVENT:
        keys: list[str] = []
        if kind == "Assembled":
            keys = [entity_key(BATTERY, b["parent_id"])] + [entity_key(BATTERY, c) for c in b["child_ids"]]
        elif kind == "MaterialConsumed":
            keys = [entity_key(BATTERY, b["battery_id"])] + [entity_key(LOT, i["lot_id"]) for i in b["inputs"]]
        elif kind == "Dismantled":
            keys = [entity_key(BATTERY, b["battery_id"]), entity_key(LOT, b["output_lot_id"])]
        elif kind == "Recycled":
            keys = [entity_key(LOT, x["lot_id"]) for x in [*b["inputs"], *b["outputs"]]]
        elif kind == "Repurposed":  # the original, then the code its second life goes on under
            keys = [entity_key(BATTERY, b["battery_id"]), entity_key(BATTERY, b["new_battery_id"])]
        elif kind == "Serviced" and b.get("replacement_id"):
            keys = [entity_key(BATTERY, b["battery_id"]), entity_key(BATTERY, b["replacement_id"])]
        else:
            keys = [entity_key(BATTERY, b["battery_id"])]
        return _dedup(keys)
    if schema == LOGISTICS_EVENT:
        keys = [entity_key(SHIPMENT, record["consignment_id"])]
        if kind == "ConsignmentCreated":
            keys += [entity_key(BATTERY, x) for x in b["battery_ids"]]
            keys += [entity_key(LOT, x) for x in b["lot_ids"]]
        return _dedup(keys)
    if schema == ASSAY_RESULT:
        return [entity_key(LOT, record["lot_id"])]
    if schema == LICENSED_ENTITY:  # the party, then the trips its zones are frozen for (battrace/domain/transit.py)
        trips = [entity_key(SHIPMENT, c) for z in record.get("zones") or () for c in z.get("consignment_ids") or ()]
        return _dedup([entity_key(PARTY, record["entity_id"]), *trips])
    if schema == REPORT_EVENT:
        return [entity_key(SHIPMENT, record["shipment_id"])]
    raise ValueError(f"no entity rule for {schema}")
