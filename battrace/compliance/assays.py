"""Lab assays as recorded: the latest Assay event of each lot (up to a time), with its decoded record."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.compliance.tables import distinct_events, rows


def latest_assays(
    client: Client, lot_ids: Collection[str] | None = None, as_of_ms: int | None = None
) -> dict[str, dict[str, Any]]:
    """lot id -> its latest assay record (the AssayResult fields plus ``at_ms``, the event time)."""
    where = "AND has({ids:Array(String)}, lot_ids[1])" if lot_ids is not None else ""
    found = rows(
        client,
        "SELECT event_id, toUnixTimestamp64Milli(event_time) AS at_ms, payload FROM battrace.event_store "
        f"WHERE kind = 'Assay' AND at_ms <= {{until:Int64}} {where} ORDER BY event_time, event_id",
        until=2**62 if as_of_ms is None else as_of_ms,
        ids=sorted(set(lot_ids or ())),
    )
    out: dict[str, dict[str, Any]] = {}
    for r in distinct_events(found):
        record = json.loads(r["payload"])
        out[record["lot_id"]] = {**record, "at_ms": r["at_ms"]}  # ordered by time: the last one wins
    return out
