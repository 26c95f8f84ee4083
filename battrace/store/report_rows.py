"""What a sealed report step adds to ClickHouse: a ``reports`` row for a draft, a ``report_reviews`` row for a review.

A pure function of the event, like its events row (battrace/store/event_rows.py): the seal stage writes these rows
with the event, and `verify` recomputes them from the sealed canonical bytes (battrace/verify/derived.py), so a
report row that was edited, forged or deleted is named like any other derived row.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from battrace.domain.report_events import REPORT_COSIGNED, REPORT_DRAFTED, REVIEW_KINDS
from battrace.domain.sources import REPORT_EVENT
from schemas.envelope import Envelope

COSIGNED, REFUSED = "cosigned", "refused"


def _ms(rfc3339: str) -> int:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` (the one spelling reports use) as UTC milliseconds."""
    whole = datetime.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return int(whole.timestamp()) * 1000 + int(rfc3339[20:23])


def report_rows(ev: Envelope) -> list[tuple[str, dict[str, Any]]]:
    """(table, row) of a report step; [] for any other event."""
    if ev.schema != REPORT_EVENT:
        return []
    r = ev.record
    if ev.kind == REPORT_DRAFTED:
        doc = json.loads(r["document"])
        body = doc["report"]
        return [
            (
                "reports",
                {
                    "shipment_id": r["shipment_id"],
                    "event_id": ev.event_id,
                    "drafted_at": ev.event_time_ms,
                    "delivered_at": _ms(body["delivered_at"]),
                    "report_hash": r["report_hash"],
                    "document": r["document"],
                    "missing_fields": [str(f) for f in body.get("missing_fields", [])],
                    "signed_by": [f"{s.get('role')}:{s.get('key_id')}" for s in doc.get("signatures", [])],
                    "battery_ids": [str(b) for b in body.get("battery_ids", [])],
                    "lot_ids": [str(lot) for lot in body.get("lot_ids", [])],
                },
            )
        ]
    if ev.kind in REVIEW_KINDS:
        sig = json.loads(r["signature"])
        return [
            (
                "report_reviews",
                {
                    "shipment_id": r["shipment_id"],
                    "event_id": ev.event_id,
                    "reviewed_at": ev.event_time_ms,
                    "report_hash": r["report_hash"],
                    "verdict": COSIGNED if ev.kind == REPORT_COSIGNED else REFUSED,
                    "role": str(sig.get("role", "")),
                    "key_id": str(sig.get("key_id", "")),
                    "signature": r["signature"],
                    "reasons": list(r["reasons"]),
                },
            )
        ]
    return []
