"""Issue the signed traceability report of one delivered consignment and shape its `reports` row.

Called by the worker's report stage once the delivery is sealed and covered by a signed checkpoint, so
the report's seal reference (field 12) can prove the delivery record. Idempotent: a consignment that
already has a report keeps it (a redelivered trigger must not re-sign a different document).
Inputs on other partitions (the cells' lots and their assays) may still be in flight when the delivery is
sealed, so the stage re-drafts for a bounded time while lot-derived fields are missing; after that they
are reported as missing, never filled in.
"""

from __future__ import annotations

import time
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.keys import KeyRing
from battrace.report.canonical import canonical_json
from battrace.report.model import TraceabilityReport, parse_rfc3339_ms
from battrace.report.signing import ROLES, sign_report


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


def signed_row(report: TraceabilityReport, keys: KeyRing, now_ms: int | None = None) -> dict[str, Any]:
    """Both roles approve the report; the `reports` row that stores it."""
    shipment_id = report.shipment_id
    now_ms = round(time.time() * 1000) if now_ms is None else now_ms
    doc = sign_report(report, {role: keys.report_signer(role) for role in ROLES}, now_ms)
    return {
        "shipment_id": shipment_id,
        "delivered_at": parse_rfc3339_ms(report.delivered_at),
        "report_hash": doc["report_hash"],
        "document": canonical_json(doc).decode(),
        "missing_fields": list(report.missing_fields),
        "signed_by": [f"{s['role']}:{s['key_id']}" for s in doc["signatures"]],
        "battery_ids": list(report.battery_ids),
        "lot_ids": list(report.lot_ids),
        "created_at": now_ms,
    }
