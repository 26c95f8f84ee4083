"""The live store's record of what was archived and dropped (tables ``archives`` and ``archived_heads``).

`battrace archive --drop` writes the marks first and deletes second, so a crash between the two leaves rows the
marks also describe, which `battrace verify --all` accepts (a log that still starts at 0 is audited whole). The
marks are not trusted: verify checks the archive checkpoint's signature, that the compact range hashes to its root
and that the archived heads hash to its heads line before it lets a live log or chain go on from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from clickhouse_connect.driver.client import Client

SYNC = {"mutations_sync": 2}  # a drop returns once its rows are gone


@dataclass(frozen=True)
class ArchiveMark:
    """Where one log's archived part ends: the signed checkpoint of ``size`` entries."""

    log_id: str
    size: int
    root: str
    note: str
    compact_range: tuple[str, ...]
    until: str
    manifest_sha256: str


@dataclass(frozen=True)
class ArchivedHead:
    """An entity's head at its log's archive checkpoint: its live chain goes on from ``length`` and ``chain_hash``."""

    log_id: str
    position: int
    entity: str
    length: int
    chain_hash: str


def marks(client: Client) -> dict[str, ArchiveMark]:
    """Log id -> its archive mark (the newest archive of each log); none in a store made before archives existed."""
    if not int(client.command("EXISTS TABLE battrace.archives")):
        return {}
    rows = client.query(
        "SELECT log_id, size, root, note, compact_range, until, manifest_sha256 FROM battrace.archives FINAL"
    ).result_rows
    return {r[0]: ArchiveMark(r[0], int(r[1]), r[2], r[3], tuple(r[4]), r[5], r[6]) for r in rows}


def heads(client: Client) -> dict[str, list[ArchivedHead]]:
    """Log id -> its archived heads in tree order."""
    rows = client.query(
        "SELECT log_id, position, entity, length, chain_hash FROM battrace.archived_heads FINAL "
        "ORDER BY log_id, position"
    ).result_rows
    found: dict[str, list[ArchivedHead]] = {}
    for r in rows:
        found.setdefault(r[0], []).append(ArchivedHead(r[0], int(r[1]), r[2], int(r[3]), r[4]))
    return found


def record(client: Client, archived: list[ArchiveMark], archived_heads: list[ArchivedHead]) -> None:
    """Store the marks of an archive (replacing earlier marks of the same logs)."""
    now = datetime.now(UTC)
    logs = sorted({m.log_id for m in archived})
    if logs:
        client.command(
            "ALTER TABLE battrace.archived_heads DELETE WHERE log_id IN {logs:Array(String)}",
            parameters={"logs": logs},
            settings=SYNC,
        )
    client.insert(
        "battrace.archives",
        [[m.log_id, m.size, m.root, m.note, list(m.compact_range), m.until, m.manifest_sha256, now] for m in archived],
        column_names=["log_id", "size", "root", "note", "compact_range", "until", "manifest_sha256", "archived_at"],
    )
    if archived_heads:
        client.insert(
            "battrace.archived_heads",
            [[h.log_id, h.position, h.entity, h.length, h.chain_hash] for h in archived_heads],
            column_names=["log_id", "position", "entity", "length", "chain_hash"],
        )


def drop(client: Client, archived: list[ArchiveMark]) -> None:
    """Delete what the marks say is archived: each log's sealed rows and entries below its archive size and its
    checkpoints smaller than the archive checkpoint (which stays: the live log is proven to extend it). Events and
    the rows derived from them stay: projections, carbon and flags are recomputed from whole chains of events."""
    for m in archived:
        params = {"log": m.log_id, "size": m.size}
        for statement in (
            "ALTER TABLE battrace.sealed_store DELETE WHERE log_id = {log:String} AND log_index < {size:UInt64}",
            "ALTER TABLE battrace.log_store DELETE WHERE log_id = {log:String} AND log_index < {size:UInt64}",
            "ALTER TABLE battrace.checkpoints DELETE WHERE log_id = {log:String} AND size < {size:UInt64}",
        ):
            client.command(statement, parameters=params, settings=SYNC)
