"""The audit's stored results (``battrace audit``) against the audit recomputed in memory.

The audit reads only rows battrace/verify/derived_check.py has just compared with their recomputation from the
sealed events (events, projections, carbon, genealogy), so recomputing it from the store is recomputing it from the
sealed log; the comparison is only as good as that check, which ``battrace verify`` always runs with it.

A store the audit never ran on (no audit table holds a row) has no audit results to check, and passes here. Each run
records how far every log reached (``audit_runs``); while no log has grown since, the rows must equal what the data
implies. Once new events are sealed the audit is stale: one failure says so and asks for ``battrace audit``, rather
than a difference per row that new data changed.
Tables are read with FINAL: a re-run replaces rows whose verdict changed, and the old versions stay until merged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.compliance import eligibility, footprints, genealogy_audit, recycled_audit
from battrace.compliance.audit import (
    AUDIT_TABLES,
    CATEGORIES,
    CLAIM_TABLE,
    FLAG_COLUMNS,
    FLAG_KEY,
    AuditParams,
    compute_audit,
)
from battrace.compliance.custody_audit import check_steps, custody_flag_rows
from battrace.compliance.registry import load_registry
from battrace.compliance.steps import load_steps
from battrace.domain.entities import BATTERY, LOT, entity_key
from battrace.store.logs import log_sizes
from battrace.verify.derived import Difference, compare, row_entity
from battrace.verify.derived_check import select

AUDIT_KEYS: dict[str, tuple[str, ...]] = {
    "flags": FLAG_KEY,
    "lot_eligibility": ("lot_id",),
    "footprints": ("battery_id",),
    "recycled_content": ("battery_id", "element"),
    "recycled_exclusions": recycled_audit.EXCLUSION_KEY,
}
AUDIT_COLUMNS = {
    "flags": FLAG_COLUMNS,
    "lot_eligibility": eligibility.COLUMNS,
    "footprints": footprints.COLUMNS,
    "recycled_content": recycled_audit.COLUMNS,
    "recycled_exclusions": recycled_audit.EXCLUSION_COLUMNS,
}
ENTITY_OF = {
    "flags": row_entity,
    "lot_eligibility": lambda r: [entity_key(LOT, r["lot_id"])],
    "footprints": lambda r: [entity_key(BATTERY, r["battery_id"])],
    "recycled_content": lambda r: [entity_key(BATTERY, r["battery_id"])],
    "recycled_exclusions": lambda r: [entity_key(BATTERY, r["battery_id"])],
}
_AUDIT_FLAGS = "WHERE category IN {audit:Array(String)}"


def audited(client: Client) -> bool:
    """Whether ``battrace audit`` ever wrote to this store (a store made before the audit tables existed: no)."""
    present = {r[0] for r in client.query("SELECT name FROM system.tables WHERE database = 'battrace'").result_rows}
    if not set(AUDIT_TABLES) <= present:
        return False
    counts = " + ".join(f"(SELECT count() FROM battrace.{t})" for t in AUDIT_TABLES)
    flags = "(SELECT count() FROM battrace.flags WHERE category IN {audit:Array(String)})"
    return client.query(f"SELECT {counts} + {flags}", parameters={"audit": list(CATEGORIES)}).result_rows[0][0] > 0


def _stored(client: Client, table: str, where: str = "", **params: Any) -> list[dict[str, Any]]:
    sql = select(table, AUDIT_COLUMNS[table], final=True, where=where)
    return list(client.query(sql, parameters=params).named_results())


def _keyed(table: str, rows: Sequence[Mapping[str, Any]]) -> dict[tuple, Mapping[str, Any]]:
    return {tuple(r[k] for k in AUDIT_KEYS[table]): r for r in rows}


def stale_audit(client: Client) -> Difference | None:
    """Why the stored audit cannot be held to the data as it is now (logs grew since it ran), or None."""
    has_runs = "SELECT count() FROM system.tables WHERE database = 'battrace' AND name = 'audit_runs'"
    runs = []
    if client.query(has_runs).result_rows[0][0]:  # a store audited by an older version has no record of its runs
        runs = client.query("SELECT log_sizes FROM battrace.audit_runs ORDER BY run_at DESC LIMIT 1").result_rows
    now = log_sizes(client)
    if runs and {k: int(v) for k, v in runs[0][0].items()} == now:
        return None
    grown = sorted(log_id for log_id, size in now.items() if not runs or runs[0][0].get(log_id) != size)
    shown = ", ".join(grown[:4]) + (" ..." if len(grown) > 4 else "")
    return Difference(
        "audit",
        None,
        f"the audit rows are older than the sealed data ({shown} grew since `battrace audit` ran): re-run "
        "`battrace audit`, then verify",
    )


def outdated_audit(client: Client) -> Difference | None:
    """Why the stored audit predates the claim rules this version applies (no exclusions table), or None: its
    recycled content would differ from the recomputation without any tampering."""
    present = "SELECT count() FROM system.tables WHERE database = 'battrace' AND name = {t:String}"
    if client.query(present, parameters={"t": CLAIM_TABLE}).result_rows[0][0]:
        return None
    why = "the audit rows were written by an older battrace: re-run `battrace audit`, then verify"
    return Difference("audit", None, why)


def check_audit(client: Client, params: AuditParams) -> list[Difference]:
    """Every stored audit row against the audit recomputed from the store, if the audit ran on the data as it is
    now; an audit older than the data is one failure that says so (its rows would differ without any tampering)."""
    if not audited(client):
        return []
    stale = outdated_audit(client) or stale_audit(client)
    if stale is not None:
        return [stale]
    found = compute_audit(client, params)
    expected = {
        "flags": found.flags,
        "lot_eligibility": found.lot_eligibility,
        "footprints": found.footprints,
        "recycled_content": found.recycled_content,
        "recycled_exclusions": found.recycled_exclusions,
    }
    out: list[Difference] = []
    for table, rows in expected.items():
        where = _AUDIT_FLAGS if table == "flags" else ""
        stored = _stored(client, table, where, audit=list(CATEGORIES))
        out += compare(table, _keyed(table, rows), stored, ENTITY_OF[table], keys=AUDIT_KEYS[table])
    return out


def check_battery_audit(client: Client, battery_id: str, params: AuditParams | None = None) -> list[Difference]:
    """The audit rows shown for one battery (its custody flags, footprint and recycled content; eligibility is a
    lot's) against their recomputation. Footprints and recycled content are computed for the whole store: they
    allocate shared inputs (lots, consignments) across batteries, so one battery's figures depend on the others."""
    if not audited(client):
        return []
    stale = outdated_audit(client) or stale_audit(client)
    if stale is not None:
        return [stale]
    p = params or AuditParams()
    me = entity_key(BATTERY, battery_id)
    checked = check_steps(load_steps(client), load_registry(client))
    custody = custody_flag_rows(checked)
    cycles = genealogy_audit.cycle_flag_rows(genealogy_audit.load_edges(client))
    flags = [r for r in custody + cycles if row_entity(r) == [me]]
    where = _AUDIT_FLAGS + " AND entity_type = {t:String} AND entity_id = {i:String}"
    stored = _stored(client, "flags", where, audit=list(CATEGORIES), t=BATTERY, i=battery_id)
    out = compare("flags", _keyed("flags", flags), stored, row_entity, keys=FLAG_KEY)
    mine = "WHERE battery_id = {i:String}"
    content, excluded = recycled_audit.compute_recycled(client, eligibility.compute_eligibility(client, checked)[2])
    expected = {
        "footprints": footprints.compute_footprints(client, p.service_years, p.cycles_overrides),
        "recycled_content": content,
        "recycled_exclusions": excluded,
    }
    for table, rows in expected.items():
        own = [r for r in rows if r["battery_id"] == battery_id]
        out += compare(
            table,
            _keyed(table, own),
            _stored(client, table, mine, i=battery_id),
            ENTITY_OF[table],
            keys=AUDIT_KEYS[table],
        )
    return out
