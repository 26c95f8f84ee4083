"""Hand-made event rows and registry records for the compliance unit tests (no store needed)."""

from __future__ import annotations

from typing import Any

DAY = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def licence(party: str, role: str, number: str, valid_from: int, valid_to: int, **extra: Any) -> dict[str, Any]:
    return {
        "entity_id": party,
        "role": role,
        "licence_number": number,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "revoked": False,
        "event_time": valid_from,
        **extra,
    }


def registry(*records: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        out.setdefault(r["entity_id"], []).append(r)
    return out


def mes(event_id: str, kind: str, at_ms: int, body: dict[str, Any]) -> dict[str, Any]:
    record = {"event_id": event_id, "event_time": at_ms, "body": [f"battrace.mes.{kind}", body]}
    return {"event_id": event_id, "kind": kind, "at_ms": at_ms, "record": record}


def logistics(event_id: str, kind: str, at_ms: int, consignment: str, body: dict[str, Any]) -> dict[str, Any]:
    record = {
        "event_id": event_id,
        "event_time": at_ms,
        "consignment_id": consignment,
        "body": [f"battrace.logistics.{kind}", body],
    }
    return {"event_id": event_id, "kind": kind, "at_ms": at_ms, "record": record}


def consignment(event_id: str, at_ms: int, cid: str, transporter: str, licence_number: str, **carried: Any) -> dict:
    body = {
        "battery_ids": carried.get("battery_ids", []),
        "lot_ids": carried.get("lot_ids", []),
        "transporter_id": transporter,
        "transporter_licence": licence_number,
    }
    return logistics(event_id, "ConsignmentCreated", at_ms, cid, body)


def assay(event_id: str, at_ms: int, lot_id: str, lab: str, fractions: dict[str, float], **extra: Any) -> dict:
    record = {
        "event_id": event_id,
        "event_time": at_ms,
        "lot_id": lot_id,
        "lab_id": lab,
        "fractions": [{"element": e, "fraction": f} for e, f in fractions.items()],
        "smelter_id": None,
        **extra,
    }
    return {"event_id": event_id, "kind": "Assay", "at_ms": at_ms, "record": record}
