"""What an archive takes from ClickHouse: each log's entries up to its newest checkpoint signed before a cutoff.

An archive cuts every log at a signed checkpoint, never between two, so the archived part of a log is a signed log
(its root, heads and consistency recompute from the archived entries, and from the previous archive's end when an
earlier archive was dropped) and the live part goes on from a signed size. A checkpoint belongs to the month it was
signed in: `battrace archive --until 2026-03` takes, per log, the newest checkpoint created before April 2026 and
everything under it: the log entries, the checkpoints up to it, the sealed rows those entries log and the events
those rows seal (canonical bytes, to recompute the event hashes).

Reads the public tables through the same names every reader uses (``battrace.sealed``, ``battrace.log_entries``,
``battrace.checkpoints``, ``battrace.events``), hashes as hex.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.store import logs as log_store

SEALED = (
    "entity_type",
    "entity_id",
    "seq",
    "event_id",
    "event_hash",
    "prev_hash",
    "chain_hash",
    "log_id",
    "log_index",
    "sealed_at_ms",
)
EVENTS = ("event_id", "kind", "event_time_ms", "canonical", "event_hash")
LOG_ENTRIES = ("log_id", "log_index", "entry", "leaf_hash")
CHECKPOINTS = ("log_id", "size", "root", "note", "compact_range", "created_at_ms")


@dataclass
class ArchiveRows:
    """The rows of one archive, per table as lists of dicts keyed by the column names above."""

    boundaries: dict[str, log_store.StoredCheckpoint] = field(default_factory=dict)  # log id -> checkpoint it ends at
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def boundaries(client: Client, cutoff: datetime) -> dict[str, log_store.StoredCheckpoint]:
    """Per log, its newest checkpoint created before ``cutoff`` (logs without one are not archived)."""
    rows = client.query(
        "SELECT log_id, max(size) FROM battrace.checkpoints FINAL WHERE created_at < {cutoff:DateTime64(3)} "
        "GROUP BY log_id",
        parameters={"cutoff": cutoff},
    ).result_rows
    sizes = dict(rows)
    return {cp.log_id: cp for cp in log_store.checkpoints(client) if sizes.get(cp.log_id) == cp.size}


def archive_rows(client: Client, cutoff: datetime, starts: dict[str, int] | None = None) -> ArchiveRows:
    """Everything to archive for ``cutoff``: the rows under each log's boundary checkpoint, from ``starts`` (per log,
    where an earlier archive that was dropped ended; default 0). A log with nothing new is left out."""
    starts = starts or {}
    found = ArchiveRows({k: cp for k, cp in boundaries(client, cutoff).items() if cp.size > starts.get(k, 0)})
    sizes = {log_id: cp.size for log_id, cp in found.boundaries.items()}
    if not sizes:
        return found
    under = (
        "("
        + " OR ".join(
            f"(log_id = {{l{i}:String}} AND log_index >= {{f{i}:UInt64}} AND log_index < {{s{i}:UInt64}})"
            for i in range(len(sizes))
        )
        + ")"
    )
    params: dict[str, Any] = {}
    for i, (log_id, size) in enumerate(sorted(sizes.items())):
        params[f"l{i}"], params[f"f{i}"], params[f"s{i}"] = log_id, starts.get(log_id, 0), size
    found.tables["log_entries"] = _named(
        client,
        f"SELECT log_id, log_index, entry, leaf_hash FROM battrace.log_entries FINAL WHERE {under} "
        "ORDER BY log_id, log_index",
        params,
    )
    found.tables["checkpoints"] = [
        {
            "log_id": cp.log_id,
            "size": cp.size,
            "root": cp.root,
            "note": cp.note,
            "compact_range": list(cp.compact_range),
            "created_at_ms": created,
        }
        for cp, created in _checkpoints_with_times(client, sizes)
        if cp.size >= starts.get(cp.log_id, 0)
    ]
    found.tables["sealed"] = _named(
        client,
        "SELECT entity_type, entity_id, seq, event_id, event_hash, prev_hash, chain_hash, log_id, log_index, "
        f"toUnixTimestamp64Milli(sealed_at) AS sealed_at_ms FROM battrace.sealed FINAL WHERE {under} "
        "ORDER BY entity_type, entity_id, seq",
        params,
    )
    found.tables["events"] = _named(
        client,
        "SELECT event_id, kind, toUnixTimestamp64Milli(event_time) AS event_time_ms, canonical, event_hash "
        f"FROM battrace.events FINAL WHERE event_id IN (SELECT event_id FROM battrace.sealed FINAL WHERE {under}) "
        "ORDER BY event_id",
        params,
    )
    return found


def _checkpoints_with_times(client: Client, sizes: dict[str, int]) -> list[tuple[log_store.StoredCheckpoint, int]]:
    """Every checkpoint up to each boundary, with its creation time in UTC milliseconds."""
    times = {
        (r[0], r[1]): r[2]
        for r in client.query(
            "SELECT log_id, size, toUnixTimestamp64Milli(created_at) FROM battrace.checkpoints FINAL"
        ).result_rows
    }
    return [
        (cp, int(times.get((cp.log_id, cp.size), 0)))
        for cp in log_store.checkpoints(client)
        if cp.log_id in sizes and cp.size <= sizes[cp.log_id]
    ]


def _named(client: Client, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    result = client.query(sql, parameters=params, column_formats={"entry": "bytes", "canonical": "bytes"})
    return list(result.named_results())
