"""Reading query results as dicts and replacing the audit's rows in ClickHouse without leaving stale ones.

The audit's tables are ReplacingMergeTree keyed by entity, so re-inserting a row replaces it; rows whose key
the new run no longer produces (a verdict that changed) are deleted afterwards, so a re-run converges to
exactly what the data implies and there is no moment with the old rows gone and the new ones not yet in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def rows(client: Client, sql: str, **parameters: Any) -> list[dict[str, Any]]:
    """One dict per result row, keyed by column name."""
    return list(client.query(sql, parameters=parameters).named_results())


IN_CHAINS_OF = (
    "event_id IN (SELECT event_id FROM battrace.sealed WHERE entity_type = {chain_type:String} "
    "AND entity_id IN {chain_ids:Array(String)})"
)
"""SQL condition: the event is in the chain of one of these entities (parameters ``chain_type``, ``chain_ids``).

``sealed`` is ordered by entity, and ``events`` by event id, so this reads a few granules of each instead of
scanning every event's ``entities``: a report's cost no longer grows with the store. Only for entities whose
chains are short (consignments, parties); a lot's chain holds every cell that consumed it."""


def distinct_events(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of ``event_store`` (the table under the ``events`` view), one per event id (first kept, order unchanged).

    The view reads with FINAL, which merges every part of the table at read time: a lookup of 20 events by id
    takes about 20 times as long through it. A replay can only re-insert an identical row (the row is a function of
    the event), so the compliance readers query the table and drop repeats here (or aggregate them away), for the
    same result.
    """
    seen: set[str] = set()
    out = []
    for r in found:
        if r["event_id"] not in seen:
            seen.add(r["event_id"])
            out.append(r)
    return out


def ms_to_datetime(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def insert(
    client: Client, table: str, data: Sequence[Mapping[str, Any]], columns: Sequence[str], times: Iterable[str] = ()
) -> None:
    """Column-oriented insert; ``times`` are columns given as UTC milliseconds."""
    if not data:
        return
    time_columns = set(times)
    values = [[ms_to_datetime(r[c]) for r in data] if c in time_columns else [r[c] for r in data] for c in columns]
    client.insert(f"battrace.{table}", values, column_names=list(columns), column_oriented=True)


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"key values must be str, int or bool, got {value!r}")


def replace_rows(
    client: Client,
    table: str,
    key: Sequence[str],
    data: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    scope: str = "1",
    times: Iterable[str] = (),
) -> int:
    """Make the rows of ``table`` matching ``scope`` (a SQL condition) equal to ``data``; returns rows deleted.

    Insert first (same keys replace), then delete the keys in scope that ``data`` no longer has.
    """
    existing = {
        tuple(r) for r in client.query(f"SELECT {', '.join(key)} FROM battrace.{table} FINAL WHERE {scope}").result_rows
    }
    insert(client, table, data, columns, times)
    stale = existing - {tuple(r[k] for k in key) for r in data}
    stale_list = sorted(stale)
    for i in range(0, len(stale_list), 1000):
        chunk = ", ".join("(" + ", ".join(_literal(v) for v in k) + ")" for k in stale_list[i : i + 1000])
        client.command(
            f"DELETE FROM battrace.{table} WHERE ({scope}) AND ({', '.join(key)}) IN [{chunk}]",
            settings={"mutations_sync": 2},
        )
    return len(stale)
