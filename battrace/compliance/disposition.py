"""Gather the facts of a recycled batch's disposition report from the sealed events, and build the report.

The report itself is the pure rule of battrace/domain/disposition.py. This module reads the ``events`` rows it needs,
whose decoded payloads ``battrace verify --all`` recomputes from the sealed canonical bytes: the ``Recycled`` and
``Dismantled`` events upstream of the batch, walked lot by lot, then the collections and vehicle installations of
the packs found.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.compliance.tables import distinct_events, rows
from battrace.domain.disposition import (
    CollectionStep,
    DismantlingStep,
    Facts,
    PackHistory,
    RecyclingStep,
    Report,
    report,
)
from battrace.domain.entities import body_of

_SELECT = (
    "SELECT event_id, kind, toUnixTimestamp64Milli(event_time) AS at_ms, site_id, payload FROM battrace.event_store "
    "WHERE has({{kinds:Array(String)}}, kind) AND hasAny({column}, {{ids:Array(String)}}) ORDER BY event_time, event_id"
)


def _events(client: Client, kinds: Collection[str], column: str, ids: Collection[str]) -> list[dict[str, Any]]:
    found = rows(client, _SELECT.format(column=column), kinds=list(kinds), ids=sorted(ids))
    return [{**r, "body": body_of(json.loads(r["payload"]))} for r in distinct_events(found)]


def gather(client: Client, lot_id: str) -> Facts:
    """The recycling and dismantling steps upstream of ``lot_id`` and the histories of the packs they name."""
    recycled: dict[str, RecyclingStep] = {}
    dismantled: dict[str, DismantlingStep] = {}
    seen: set[str] = set()
    frontier = {lot_id}
    while frontier:
        seen |= frontier
        wanted, frontier = frontier, set()
        for r in _events(client, ("Recycled", "Dismantled"), "lot_ids", wanted):
            b = r["body"]
            if r["kind"] == "Dismantled":
                if b["output_lot_id"] in wanted:
                    dismantled.setdefault(b["output_lot_id"], _dismantling(r))
                continue
            step = _recycling(r)
            for out, _ in step.outputs:
                if out in wanted and out not in recycled:
                    recycled[out] = step
                    frontier |= {lot for lot, _ in step.inputs} - seen
    packs = {d.battery_id for d in dismantled.values()}
    collections: dict[str, list[CollectionStep]] = {p: [] for p in packs}
    vins: dict[str, list[str]] = {p: [] for p in packs}
    for r in _events(client, ("EndOfLifeCollected", "VehicleIntegrated"), "battery_ids", packs) if packs else ():
        b = r["body"]
        if b["battery_id"] not in packs:
            continue
        if r["kind"] == "VehicleIntegrated":
            vins[b["battery_id"]].append(b["vin"])
        else:
            collections[b["battery_id"]].append(_collection(r))
    histories = {p: PackHistory(tuple(collections[p]), tuple(vins[p])) for p in packs}
    return Facts(recycled, dismantled, histories)


def disposition_report(client: Client, lot_id: str) -> Report:
    """The batch's report; raises battrace.domain.disposition.NotRecycled when the lot is no recovered lot."""
    return report(lot_id, gather(client, lot_id))


def _recycling(r: dict[str, Any]) -> RecyclingStep:
    b = r["body"]
    return RecyclingStep(
        r["event_id"],
        int(r["at_ms"]),
        b["recycler_id"],
        r["site_id"],
        tuple((i["lot_id"], float(i["mass_kg"])) for i in b["inputs"]),
        tuple((o["lot_id"], float(o["mass_kg"])) for o in b["outputs"]),
    )


def _dismantling(r: dict[str, Any]) -> DismantlingStep:
    b = r["body"]
    return DismantlingStep(
        r["event_id"],
        int(r["at_ms"]),
        b["battery_id"],
        b["dismantler_id"],
        r["site_id"],
        b["output_lot_id"],
        b.get("vin"),
    )


def _collection(r: dict[str, Any]) -> CollectionStep:
    b = r["body"]
    return CollectionStep(
        r["event_id"], int(r["at_ms"]), b["collector_id"], r["site_id"], b.get("vin"), b.get("transporter_licence")
    )
