"""Rows the human passport page shows beside the passport's own (battrace/store/passport_rows.py): the logs and
checkpoints a battery's records are sealed in, its components, and its lots' eligibility.

Queries only, read with FINAL (one row per key, the newest).
"""

from __future__ import annotations

from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.domain.entities import BATTERY

MAX_COMPONENTS = 500  # a pack has tens of modules and cells; a bound keeps a malformed genealogy from running away


def _rows(client: Client, sql: str, **params: Any) -> list[dict[str, Any]]:
    return list(client.query(sql, parameters=params).named_results())


def sealing_checkpoints(client: Client, entity_type: str, entity_id: str) -> list[dict[str, Any]]:
    """Per log holding the entity's records: how many, and that log's newest checkpoint (size, root, signing keys)."""
    return _rows(
        client,
        "SELECT s.log_id AS log_id, s.records AS records, c.size AS size, c.root AS root, c.key_id AS key_id "
        "FROM (SELECT log_id, count() AS records FROM battrace.sealed FINAL "
        "WHERE entity_type = {t:String} AND entity_id = {i:String} GROUP BY log_id) AS s "
        "LEFT JOIN (SELECT log_id, size, root, key_id FROM battrace.checkpoints FINAL "
        "ORDER BY log_id, size DESC LIMIT 1 BY log_id) AS c ON c.log_id = s.log_id ORDER BY log_id",
        t=entity_type,
        i=entity_id,
    )


def components(client: Client, battery_id: str) -> dict[str, dict[str, Any]]:
    """The projections (product type, children, lots) of every component under the battery, breadth first."""
    found: dict[str, dict[str, Any]] = {}
    level = [battery_id]
    while level and len(found) < MAX_COMPONENTS:
        rows = _rows(
            client,
            "SELECT battery_id, product_type, children, lots FROM battrace.batteries FINAL "
            "WHERE battery_id IN {ids:Array(String)}",
            ids=level,
        )
        level = []
        for row in rows:
            if row["battery_id"] in found:
                continue
            found[row["battery_id"]] = row
            level += [c for c in row["children"] if c not in found]
    return found


def lot_eligibility(client: Client, lot_ids: list[str]) -> dict[str, dict[str, Any]]:
    """lot id -> its ``lot_eligibility`` row (class, eligible, reasons); lots the audit did not judge are absent."""
    if not lot_ids:
        return {}
    rows = _rows(
        client,
        "SELECT lot_id, lot_class, eligible, reasons FROM battrace.lot_eligibility FINAL "
        "WHERE lot_id IN {ids:Array(String)}",
        ids=lot_ids,
    )
    return {r["lot_id"]: r for r in rows}


def shipments_of(client: Client, battery_id: str) -> list[str]:
    """The consignments whose chains hold one of the battery's events (their reports carry the battery)."""
    rows = client.query(
        "SELECT DISTINCT entity_id FROM battrace.sealed FINAL WHERE entity_type = 'shipment' AND event_id IN "
        "(SELECT event_id FROM battrace.sealed FINAL WHERE entity_type = {t:String} AND entity_id = {i:String}) "
        "ORDER BY entity_id",
        parameters={"t": BATTERY, "i": battery_id},
    ).result_rows
    return [r[0] for r in rows]
