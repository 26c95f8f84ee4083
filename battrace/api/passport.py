"""The battery passport view: projection, carbon per stage, chain summary and flags, read from ClickHouse.

Queries only; the routers decide what a missing battery means. Every table is read with FINAL so the
answer is one row per key even before ReplacingMergeTree has merged. What a passport shows (projection, carbon
lines, flags) is recomputed from the battery's sealed events first (``unverified``): rows that differ are not
shown as if they were sealed. The audit's flags are shown only while the audit is as new as the data (an older
audit's verdicts could no longer be checked against it).
"""

from __future__ import annotations

from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.api.models import BatteryRecord, Chain, ChainSummary, Flag, Passport, SealedRecord, StageCarbon
from battrace.compliance.audit import CATEGORIES as AUDIT_CATEGORIES
from battrace.domain.entities import BATTERY, entity_key
from battrace.verify.derived import Difference
from battrace.verify.derived_audit import audited, check_battery_audit, stale_audit
from battrace.verify.derived_check import check_battery


def _rows(client: Client, sql: str, **params: Any) -> list[dict[str, Any]]:
    return list(client.query(sql, parameters=params).named_results())


def chain_summary(client: Client, entity_type: str, entity_id: str) -> ChainSummary:
    row = _rows(
        client,
        "SELECT count() AS length, argMax(chain_hash, seq) AS head, max(sealed_at) AS latest_sealed_at "
        "FROM battrace.sealed FINAL WHERE entity_type = {t:String} AND entity_id = {i:String}",
        t=entity_type,
        i=entity_id,
    )[0]
    if not row["length"]:
        return ChainSummary(length=0)
    return ChainSummary(**row)


def known(client: Client, battery_id: str) -> bool:
    """Whether any table mentions the battery: a battery whose sealed rows were deleted is still known
    (its events and projection remain), so verification reports the deletion instead of a 404."""
    row = _rows(
        client,
        "SELECT (SELECT count() FROM battrace.sealed WHERE entity_type = {t:String} AND entity_id = {i:String}) "
        "+ (SELECT count() FROM battrace.batteries WHERE battery_id = {i:String}) "
        "+ (SELECT count() FROM battrace.events WHERE has(entities, {e:String})) AS n",
        t=BATTERY,
        i=battery_id,
        e=entity_key(BATTERY, battery_id),
    )[0]
    return row["n"] > 0


def unverified(client: Client, battery_id: str) -> list[Difference]:
    """How the rows a passport shows differ from their recomputation from the sealed events (empty: they match).
    An audit older than the data is not a difference here: the passport then leaves the audit's flags out."""
    if stale_audit(client) is not None:
        return check_battery(client, battery_id)
    return check_battery(client, battery_id) + check_battery_audit(client, battery_id)


def passport(client: Client, battery_id: str) -> Passport | None:
    """None when the store knows nothing of this battery (no projection and no sealed record)."""
    chain = chain_summary(client, BATTERY, battery_id)
    found = _rows(client, "SELECT * FROM battrace.batteries FINAL WHERE battery_id = {i:String}", i=battery_id)
    if not found and not chain.length:
        return None
    carbon = [
        StageCarbon(**r)
        for r in _rows(
            client,
            "SELECT stage, round(sum(kg_co2e), 6) AS kg_co2e, toInt64(count()) AS lines FROM battrace.carbon FINAL "
            "WHERE entity_type = {t:String} AND entity_id = {i:String} GROUP BY stage ORDER BY stage",
            t=BATTERY,
            i=battery_id,
        )
    ]
    flags = [
        Flag(**r)
        for r in _rows(
            client,
            "SELECT category, code, detail, event_id, event_time FROM battrace.flags FINAL "
            "WHERE entity_type = {t:String} AND entity_id = {i:String} AND category NOT IN {hidden:Array(String)} "
            "ORDER BY event_time, category, code",
            t=BATTERY,
            i=battery_id,
            hidden=list(AUDIT_CATEGORIES) if audited(client) and stale_audit(client) is not None else [],
        )
    ]
    return Passport(
        battery_id=battery_id,
        battery=BatteryRecord(**found[0]) if found else None,
        carbon=carbon,
        carbon_total_kg_co2e=round(sum(c.kg_co2e for c in carbon), 6),
        chain=chain,
        flags=flags,
    )


def chain(client: Client, battery_id: str) -> Chain:
    """Sealed rows in seq order; kind and event_time are None if the event row is missing (verify says so)."""
    records = _rows(
        client,
        "SELECT s.entity_type AS entity_type, s.entity_id AS entity_id, s.seq AS seq, s.event_id AS event_id, "
        "e.kind AS kind, e.event_time AS event_time, s.event_hash AS event_hash, s.prev_hash AS prev_hash, "
        "s.chain_hash AS chain_hash, s.log_id AS log_id, s.log_index AS log_index, s.sealed_at AS sealed_at "
        "FROM (SELECT * FROM battrace.sealed FINAL WHERE entity_type = {t:String} AND entity_id = {i:String}) AS s "
        "LEFT JOIN (SELECT event_id, toNullable(kind) AS kind, toNullable(event_time) AS event_time "
        "FROM battrace.events FINAL WHERE has(entities, {e:String})) AS e ON e.event_id = s.event_id ORDER BY s.seq",
        t=BATTERY,
        i=battery_id,
        e=entity_key(BATTERY, battery_id),
    )
    return Chain(battery_id=battery_id, records=[SealedRecord(**r) for r in records])
