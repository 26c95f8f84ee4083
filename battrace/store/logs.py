"""Reading the per-partition logs back from ClickHouse: entries, leaf hashes and checkpoints.

Shared by the seal stage (resuming a log after a restart), `battrace verify`, `battrace export` and
the read-only API, so that every reader sees the log the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from battrace.tlog import Checkpoint, leaf_hash
from schemas.heads import parse_heads


@dataclass(frozen=True)
class LastCheckpoint:
    """What the store holds for a log: the latest checkpoint's size, root, compact range and heads (count, root;
    None for a checkpoint without a heads line)."""

    size: int
    root: bytes
    compact_range: tuple[bytes, ...]
    heads: tuple[int, bytes] | None = None


@dataclass(frozen=True)
class StoredCheckpoint:
    log_id: str
    size: int
    root: str
    note: str
    compact_range: tuple[str, ...]

    def last(self) -> LastCheckpoint:
        compact_range = tuple(bytes.fromhex(h) for h in self.compact_range)
        return LastCheckpoint(self.size, bytes.fromhex(self.root), compact_range, self.heads())

    def heads(self) -> tuple[int, bytes] | None:
        """(count, root) of the note's heads line, None without one; raises ValueError on a malformed note."""
        return parse_heads(Checkpoint.parse(self.note.split("\n\n", 1)[0] + "\n").extensions)


def checkpoints(client: Client, log_id: str | None = None) -> list[StoredCheckpoint]:
    """Every stored checkpoint (of one log, or of all), ordered by log and size."""
    where = "WHERE log_id = {log:String}" if log_id is not None else ""
    rows = client.query(
        f"SELECT log_id, size, root, note, compact_range FROM battrace.checkpoints FINAL {where} ORDER BY log_id, size",
        parameters={"log": log_id} if log_id is not None else {},
    ).result_rows
    return [StoredCheckpoint(r[0], r[1], r[2], r[3], tuple(r[4])) for r in rows]


def last_checkpoint(client: Client, log_id: str, size: int | None = None) -> StoredCheckpoint | None:
    """A log's largest stored checkpoint (``size``: the one of that size), or None: one row read, however many
    checkpoints the log has (a restarted worker resumes from it)."""
    where = "AND size = {size:UInt64}" if size is not None else ""
    rows = client.query(
        "SELECT log_id, size, root, note, compact_range FROM battrace.checkpoints FINAL "
        f"WHERE log_id = {{log:String}} {where} ORDER BY size DESC LIMIT 1",
        parameters={"log": log_id, "size": size or 0},
    ).result_rows
    return next((StoredCheckpoint(r[0], r[1], r[2], r[3], tuple(r[4])) for r in rows), None)


def latest_checkpoints(client: Client) -> dict[str, StoredCheckpoint]:
    return {cp.log_id: cp for cp in checkpoints(client)}  # ordered by size: the last one wins


def entries(client: Client, log_id: str, start: int = 0, end: int | None = None) -> list[tuple[int, bytes, bytes]]:
    """(index, entry, leaf hash) of a log's entries in [start, end), in index order."""
    bound = "AND log_index < {end:UInt64}" if end is not None else ""
    rows = client.query(
        "SELECT log_index, entry, leaf_hash FROM battrace.log_entries FINAL "
        f"WHERE log_id = {{log:String}} AND log_index >= {{start:UInt64}} {bound} ORDER BY log_index",
        parameters={"log": log_id, "start": start, "end": end or 0},
        column_formats={"entry": "bytes"},
    ).result_rows
    return [(r[0], r[1], bytes.fromhex(r[2])) for r in rows]


def leaf_hashes(client: Client, log_id: str, start: int, end: int) -> list[bytes]:
    """Leaf hashes [start, end), recomputed from the entries; raises if the store lacks any of them."""
    found = entries(client, log_id, start, end)
    if [i for i, _, _ in found] != list(range(start, end)):
        raise LookupError(f"{log_id}: the store lacks entries in [{start}, {end})")
    return [leaf_hash(e) for _, e, _ in found]


def log_sizes(client: Client) -> dict[str, int]:
    """Log id -> number of entries stored (signed or not yet): how far the sealed data reaches now."""
    rows = client.query("SELECT log_id, max(log_index) + 1 FROM battrace.log_store GROUP BY log_id").result_rows
    return {log_id: int(size) for log_id, size in rows}


def entries_at(client: Client, log_id: str, indexes: list[int]) -> dict[int, bytes]:
    """Index -> entry of the given entries of a log (those the store holds): a battery's records, without the rest."""
    if not indexes:
        return {}
    rows = client.query(
        "SELECT log_index, entry FROM battrace.log_entries FINAL "
        "WHERE log_id = {log:String} AND log_index IN {indexes:Array(UInt64)}",
        parameters={"log": log_id, "indexes": sorted(set(indexes))},
        column_formats={"entry": "bytes"},
    ).result_rows
    return {int(r[0]): r[1] for r in rows}


def log_starts(client: Client) -> dict[str, int]:
    """Log id -> index of its first stored entry: 0, or where an archive of its beginning ends."""
    rows = client.query("SELECT log_id, min(log_index) FROM battrace.log_store GROUP BY log_id").result_rows
    return {log_id: int(start) for log_id, start in rows}
