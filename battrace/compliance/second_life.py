"""The second-life links of a battery code, read from the sealed genealogy: the original it was repurposed from and
the code it was repurposed as, each with when, by whom and for what.

The ``genealogy`` edges (relation ``repurposed_into``) and the ``events`` rows they name are both recomputed from the
sealed events by ``battrace verify --all``. Only the first Repurposed of each side counts, as in the lifecycle
(battrace/domain/lifecycle.py), which flags and does not apply a later one.
"""

from __future__ import annotations

import json
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.compliance.tables import rows
from battrace.domain.entities import BATTERY, body_of
from battrace.domain.genealogy import REPURPOSED_INTO


def links(client: Client, battery_id: str) -> dict[str, list[dict[str, Any]]]:
    """``{"repurposed_from": [...], "repurposed_as": [...]}``, each link with the other code, the time (UTC ms), the
    repurposer, the application and the event id."""
    found = rows(
        client,
        "SELECT g.from_id AS from_id, g.to_id AS to_id, g.event_id AS event_id, "
        "toUnixTimestamp64Milli(g.event_time) AS at_ms, e.payload AS payload "
        "FROM (SELECT DISTINCT from_id, to_id, event_id, event_time FROM battrace.genealogy "
        "WHERE relation = {relation:String} AND from_type = {t:String} AND to_type = {t:String} "
        "AND (from_id = {id:String} OR to_id = {id:String})) AS g "
        "INNER JOIN (SELECT event_id, any(payload) AS payload FROM battrace.event_store WHERE kind = 'Repurposed' "
        "GROUP BY event_id) AS e ON e.event_id = g.event_id ORDER BY at_ms, event_id",
        relation=REPURPOSED_INTO,
        t=BATTERY,
        id=battery_id,
    )
    out: dict[str, list[dict[str, Any]]] = {"repurposed_from": [], "repurposed_as": []}
    for r in found:
        side, other = ("repurposed_from", r["from_id"]) if r["to_id"] == battery_id else ("repurposed_as", r["to_id"])
        if out[side]:
            continue
        b = body_of(json.loads(r["payload"]))
        out[side].append(
            {
                "battery_id": other,
                "at_ms": int(r["at_ms"]),
                "repurposer_id": b["repurposer_id"],
                "application": b["application"],
                "event_id": r["event_id"],
            }
        )
    return out
