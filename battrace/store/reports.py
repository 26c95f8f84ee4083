"""Read a consignment's current report: its newest sealed draft and the reviews of that draft."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client


@dataclass(frozen=True)
class StoredReport:
    shipment_id: str
    document: str  # the drafted document (RFC 8785 JSON) with the manufacturer's signature
    report_hash: str
    missing_fields: list[str]
    reviews: list[dict[str, Any]]  # report_reviews rows of this report hash, in review order


def current_report(client: Client, shipment_id: str) -> StoredReport | None:
    """The newest draft (by draft time, then event id: the order every reader uses) and its reviews; None if the
    consignment has no report yet."""
    drafts = client.query(
        "SELECT document, report_hash, missing_fields FROM battrace.reports FINAL WHERE shipment_id = {s:String} "
        "ORDER BY drafted_at DESC, event_id DESC LIMIT 1",
        parameters={"s": shipment_id},
    ).result_rows
    if not drafts:
        return None
    document, report_hash, missing = drafts[0]
    reviews = list(
        client.query(
            "SELECT report_hash, verdict, role, key_id, signature, reasons FROM battrace.report_reviews FINAL "
            "WHERE shipment_id = {s:String} AND report_hash = {h:String} ORDER BY reviewed_at, event_id",
            parameters={"s": shipment_id, "h": report_hash},
        ).named_results()
    )
    return StoredReport(shipment_id, document, report_hash, list(missing), reviews)


def awaiting_review(client: Client, limit: int = 1000) -> list[str]:
    """Consignments whose current report has no review yet, oldest draft first."""
    rows = client.query(
        "SELECT shipment_id FROM (SELECT shipment_id, argMax(report_hash, (drafted_at, event_id)) AS h, "
        "max(drafted_at) AS t FROM battrace.reports FINAL GROUP BY shipment_id) AS current "
        "WHERE (shipment_id, h) NOT IN (SELECT shipment_id, report_hash FROM battrace.report_reviews FINAL) "
        "ORDER BY t, shipment_id LIMIT {n:UInt32}",
        parameters={"n": limit},
    ).result_rows
    return [r[0] for r in rows]


def reported(client: Client, limit: int = 1000) -> list[str]:
    """Consignments that have a report, oldest first draft first."""
    rows = client.query(
        "SELECT shipment_id FROM battrace.reports FINAL GROUP BY shipment_id ORDER BY min(drafted_at), shipment_id "
        "LIMIT {n:UInt32}",
        parameters={"n": limit},
    ).result_rows
    return [r[0] for r in rows]
