"""Draft the traceability report of one delivered consignment and sign it as the manufacturer's QA.

Called by the worker's report stage once the delivery is sealed and covered by a signed checkpoint, so
the report's seal reference (field 12) can prove the delivery record. The draft goes out as a
ReportDrafted event (battrace/domain/report_events.py): sealed into the consignment's chain, it becomes the
``reports`` row, and the third-party verifier co-signs or refuses it from there. Idempotent: a consignment that
already has a report keeps it (a redelivered trigger must not re-sign a different document).
Inputs on other partitions (the cells' lots and their assays) may still be in flight when the delivery is
sealed, so the stage re-drafts for a bounded time while lot-derived fields are missing; after that they
are reported as missing, never filled in.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.domain.report_events import REPORT_DRAFTED
from battrace.report.canonical import canonical_json
from battrace.report.model import TraceabilityReport
from battrace.report.signing import MANUFACTURER_QA, add_signature, unsigned
from battrace.tlog.note import Signer

STEP_NAMESPACE = uuid.UUID("6f1d3c2e-5b8a-4e0f-9a7d-2c4b6e8f0a1b")  # report step ids (uuid5)


def has_report(client: Client, shipment_id: str) -> bool:
    rows = client.query(
        "SELECT count() FROM battrace.reports FINAL WHERE shipment_id = {s:String}", parameters={"s": shipment_id}
    ).result_rows
    return rows[0][0] > 0


# Fields drawn from the lots' assays on other partitions: while these are missing, the inputs may still be
# on their way (the report stage waits a bounded time for them before it reports them missing).
LOT_FIELDS = frozenset({"cathode_material_origin", "refining_carbon_intensity", "elemental_composition"})


def draft_report(client: Client, shipment_id: str) -> TraceabilityReport | None:
    """The unsigned report of a delivered consignment, or None if it already has a signed one."""
    from battrace.compliance.shipment_report import report_for

    if has_report(client, shipment_id):
        return None
    return report_for(client, shipment_id)


def awaits_inputs(report: TraceabilityReport) -> bool:
    """Inputs from other partitions look absent: lot-derived fields, or batteries without a known mass."""
    transport = report.to_json()["fields"].get("transport_emissions", {})
    return bool(LOT_FIELDS & set(report.missing_fields)) or transport.get("allocation_method") == "equal_shares"


def step_id(report_hash_hex: str, kind: str, key_id: str = "") -> str:
    """The event id of a report step: the same step of the same report always gets the same id, so a re-drafted
    identical report, or a review sent twice, is a duplicate that ingest rejects as such."""
    return str(uuid.uuid5(STEP_NAMESPACE, f"{kind}:{report_hash_hex}:{key_id}"))


def drafted_step(report: TraceabilityReport, qa: Signer, now_ms: int | None = None) -> dict[str, Any]:
    """The ReportDrafted event of a report, signed by the manufacturer's QA: its hash enters the consignment's chain
    when it is sealed, and the third-party verifier reviews it from there."""
    now_ms = round(time.time() * 1000) if now_ms is None else now_ms
    doc = add_signature(unsigned(report), MANUFACTURER_QA, qa, now_ms)
    return {
        "event_id": step_id(doc["report_hash"], REPORT_DRAFTED),
        "event_time": now_ms,
        "kind": REPORT_DRAFTED,
        "shipment_id": report.shipment_id,
        "report_hash": doc["report_hash"],
        "document": canonical_json(doc).decode(),
        "signature": "",
        "reasons": [],
    }


def review_step(
    shipment_id: str, report_hash_hex: str, kind: str, entry: dict[str, Any], reasons: list[str], now_ms: int
) -> dict[str, Any]:
    """The ReportCosigned or ReportRefused event of a review (battrace/report/reviews.py makes ``entry``): one per
    reviewer key and report, so a review sent twice is a duplicate."""
    return {
        "event_id": step_id(report_hash_hex, kind, entry["key_id"]),
        "event_time": now_ms,
        "kind": kind,
        "shipment_id": shipment_id,
        "report_hash": report_hash_hex,
        "document": "",
        "signature": canonical_json(entry).decode(),
        "reasons": list(reasons),
    }
