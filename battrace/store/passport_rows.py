"""The rows a battery passport is built from, read from ClickHouse (battrace/passport/gather.py checks them first).

Queries only. Projections and audit tables are read with FINAL (one row per key, the newest); times come back as
UTC milliseconds, the unit the worker's rows and their recomputation use.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.domain.entities import BATTERY, LOT, entity_key

Chains = dict[str, list[tuple[int, str, str]]]  # entity key -> (seq, event_id, event_hash), in seq order


def _rows(client: Client, sql: str, **params: Any) -> list[dict[str, Any]]:
    return list(client.query(sql, parameters=params, column_formats={"canonical": "bytes"}).named_results())


def chain_head(client: Client, battery_id: str) -> tuple[int, str | None]:
    """(length, chain hash of the last record) of the battery's chain; (0, None) when it has none."""
    row = _rows(
        client,
        "SELECT count() AS n, argMax(chain_hash, seq) AS head FROM battrace.sealed FINAL "
        "WHERE entity_type = {t:String} AND entity_id = {i:String}",
        t=BATTERY,
        i=battery_id,
    )[0]
    return (int(row["n"]), row["head"]) if row["n"] else (0, None)


def projection(client: Client, battery_id: str) -> dict[str, Any] | None:
    found = _rows(client, "SELECT * FROM battrace.batteries FINAL WHERE battery_id = {i:String}", i=battery_id)
    return found[0] if found else None


def battery_events(client: Client, battery_id: str) -> list[dict[str, Any]]:
    """id, kind, event time (ms) and payload JSON of each event of the battery's chain, in chain order."""
    return _rows(
        client,
        "SELECT e.event_id AS event_id, e.kind AS kind, toUnixTimestamp64Milli(e.event_time) AS time_ms, "
        "e.payload AS payload "
        "FROM (SELECT event_id, seq FROM battrace.sealed FINAL "
        "WHERE entity_type = {t:String} AND entity_id = {i:String}) AS s "
        "INNER JOIN (SELECT event_id, kind, event_time, payload FROM battrace.events FINAL "
        "WHERE has(entities, {e:String})) AS e ON e.event_id = s.event_id ORDER BY s.seq",
        t=BATTERY,
        i=battery_id,
        e=entity_key(BATTERY, battery_id),
    )


def carbon_by_stage(client: Client, battery_id: str) -> dict[str, float]:
    rows = _rows(
        client,
        "SELECT stage, sum(kg_co2e) AS kg FROM battrace.carbon FINAL "
        "WHERE entity_type = {t:String} AND entity_id = {i:String} GROUP BY stage ORDER BY stage",
        t=BATTERY,
        i=battery_id,
    )
    return {r["stage"]: float(r["kg"]) for r in rows}


def flags(client: Client, battery_id: str) -> list[dict[str, Any]]:
    return _rows(
        client,
        "SELECT category, code, detail, event_id FROM battrace.flags FINAL "
        "WHERE entity_type = {t:String} AND entity_id = {i:String} ORDER BY event_time, category, code, event_id",
        t=BATTERY,
        i=battery_id,
    )


def footprint(client: Client, battery_id: str) -> dict[str, Any] | None:
    found = _rows(client, "SELECT * FROM battrace.footprints FINAL WHERE battery_id = {i:String}", i=battery_id)
    return found[0] if found else None


def recycled(client: Client, battery_id: str) -> list[dict[str, Any]]:
    return _rows(
        client,
        "SELECT element, element_kg, pre_consumer_kg, post_consumer_kg, complete, missing_reason "
        "FROM battrace.recycled_content FINAL "
        "WHERE battery_id = {i:String} ORDER BY element",
        i=battery_id,
    )


def lot_chains(client: Client, lot_ids: list[str]) -> Chains:
    """The sealed chains of the given lots."""
    chains: Chains = defaultdict(list)
    found = client.query(
        "SELECT entity_id, seq, event_id, event_hash FROM battrace.sealed FINAL "
        "WHERE entity_type = {t:String} AND entity_id IN {ids:Array(String)} ORDER BY entity_id, seq",
        parameters={"t": LOT, "ids": lot_ids},
    ).result_rows
    for entity_id, seq, event_id, event_hash in found:
        chains[entity_key(LOT, entity_id)].append((seq, event_id, event_hash))
    return dict(chains)


def event_bytes(client: Client, event_ids: list[str]) -> list[dict[str, Any]]:
    """Every stored version of the given events' canonical bytes (the recomputation keeps those that hash right)."""
    return _rows(
        client,
        "SELECT event_id, canonical FROM battrace.event_store WHERE event_id IN {ids:Array(String)}",
        ids=event_ids,
    )
