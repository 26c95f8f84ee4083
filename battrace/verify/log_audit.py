"""Audit the per-partition logs held in ClickHouse against their signed checkpoints.

For each log (`battrace verify --all`): every checkpoint's signature (by a trusted key, with the log's own origin),
its root recomputed from the stored entries, its heads line (schemas/heads.py) recomputed from the same entries, and
consistency between successive checkpoints (a proof is generated from the entries and verified). Then each sealed row
is checked against the log: its entry must equal the logged one and lie under the latest checkpoint — with the root
recomputed over every entry, that is a full inclusion check. Every logged ``sealed`` entry must still have its row (a
deleted row is caught here), and every stored tile (battrace/tlog/tiles.py) must be the hash of the entries it covers.

For one battery (`battrace verify --battery`), only what vouches for its own rows is read: the checkpoints'
signatures, an RFC 9162 inclusion proof of each row against the latest checkpoint, built from stored tiles and the
leaves of the row's own 256-entry block and of the partial block at the log's right edge, and its head in that
checkpoint's heads tree (no record of it left out). An altered row of another entity elsewhere in the log then fails
that entity, not this battery; the log's own history (consistency of its checkpoints) is `--all`'s to check.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client

from battrace.store import logs as log_store
from battrace.store.heads import Heads, stored_heads
from battrace.store.log_trees import held_tree
from battrace.tlog import (
    Checkpoint,
    CompactTree,
    NoteError,
    Verifier,
    consistency_proof,
    consistency_proof_appended,
    inclusion_proof,
    leaf_hash,
    open_checkpoint,
    verify_consistency,
    verify_inclusion,
)
from battrace.tlog.checkpoint import CheckpointError
from battrace.tlog.compact import Tile
from battrace.tlog.tiles import node_range
from schemas.heads import HeadsLineError, head_leaf, parse_heads
from schemas.log_entries import SEALED, sealed_entry


@dataclass
class LogView:
    """One log as the store holds it, with what the audit found. ``start``: the index of its first held entry (0,
    or where an archive of its beginning ends); ``leaves`` and ``entries`` begin there."""

    log_id: str
    leaves: list[bytes] = field(default_factory=list)
    entries: list[bytes] = field(default_factory=list)
    signed_size: int = 0
    signed_root: bytes = b""
    latest_note: str = ""
    problems: list[str] = field(default_factory=list)
    start: int = 0

    def entry(self, index: int) -> bytes:
        return self.entries[index - self.start]

    def leaf(self, index: int) -> bytes:
        return self.leaves[index - self.start]


@dataclass(frozen=True)
class LogStart:
    """Where a log held from the middle starts: a verified signed checkpoint, the compact range at its size (whose
    root is the checkpoint's) and the heads it commits to (battrace/verify/archive_start.py checks all three)."""

    size: int
    root: bytes
    tree: CompactTree
    heads: Heads


def audit_log(client: Client, log_id: str, verifiers: Sequence[Verifier], start: LogStart | None = None) -> LogView:
    """The log as ClickHouse holds it, from ``start`` (where an archive ends) unless it still holds index 0."""
    stored = log_store.entries(client, log_id)
    if stored and stored[0][0] == 0:
        start = None  # archived but not dropped: audited whole
    return audit_entries(log_id, stored, log_store.checkpoints(client, log_id), verifiers, start)


def audit_entries(
    log_id: str,
    stored: Sequence[tuple[int, bytes, bytes]],
    stored_checkpoints: Sequence[log_store.StoredCheckpoint],
    verifiers: Sequence[Verifier],
    start: LogStart | None = None,
) -> LogView:
    """Audit a log from its (index, entry, stored leaf hash) in index order and its checkpoints in size order,
    wherever they were read from (the store, an archive)."""
    base = start.size if start is not None else 0
    view = LogView(log_id, start=base)
    tree = start.tree.copy() if start is not None else CompactTree()
    for expected, (index, entry, stored_hash) in enumerate(stored, start=base):
        if index != expected:
            view.problems.append(f"entries missing from index {expected} (next stored: {index})")
            break
        h = leaf_hash(entry)
        if h != stored_hash:
            view.problems.append(f"entry {index}: stored leaf_hash does not match the entry")
        view.leaves.append(h)
        view.entries.append(entry)
    previous: tuple[int, bytes, CompactTree | None] | None = None
    if start is not None:
        previous = (start.size, start.root, start.tree.copy())
        view.signed_size, view.signed_root = start.size, start.root
    heads = HeadsAudit(view, start)
    for cp_row in stored_checkpoints:
        try:
            cp = open_checkpoint(cp_row.note, verifiers, origin=log_id)
        except (NoteError, CheckpointError) as exc:
            view.problems.append(f"checkpoint {cp_row.size}: {exc}")
            continue
        if cp.size < base or (start is not None and cp.size == base and cp.root == start.root):
            if start is not None and cp.size == base:
                view.latest_note = cp_row.note
            continue  # under the archive: the archive checkpoint was checked where the start was made
        if cp.size > base + len(view.leaves):
            view.problems.append(f"checkpoint {cp.size}: only {base + len(view.leaves)} entries are stored")
            continue
        while tree.size < cp.size:
            tree.append(view.leaf(tree.size))
        if tree.root() != cp.root:
            view.problems.append(f"checkpoint {cp.size}: the stored entries do not hash to its root")
            continue
        heads.check(cp)
        if previous is not None:
            old_size, old_root, old_tree = previous
            if old_tree is None:
                proof = consistency_proof(view.leaves[: cp.size], old_size)
            else:
                proof = consistency_proof_appended(
                    old_tree.hashes, old_size, view.leaves[old_size - base : cp.size - base]
                )
            if not verify_consistency(old_size, cp.size, proof, old_root, cp.root):
                view.problems.append(f"checkpoint {cp.size} is not consistent with checkpoint {old_size}")
        previous = (cp.size, cp.root, tree.copy() if start is not None else None)
        view.signed_size, view.signed_root, view.latest_note = cp.size, cp.root, cp_row.note
    if previous is None:
        view.problems.append("no checkpoint signed by a trusted key")
    return view


class HeadsAudit:
    """The heads of a log's entries, walked forward checkpoint by checkpoint (rehashing only what changed)."""

    def __init__(self, view: LogView, start: LogStart | None = None) -> None:
        self.view, self.broken = view, False
        self.heads = start.heads if start is not None else Heads()
        self.observed = start.size if start is not None else 0

    def check(self, cp: Checkpoint) -> None:
        """Compare the checkpoint's heads line with the heads of the stored entries below its size."""
        problems = self.view.problems
        if self.broken:
            return
        try:
            committed = parse_heads(cp.extensions)
        except HeadsLineError as exc:
            problems.append(f"checkpoint {cp.size}: {exc}")
            return
        if committed is None:
            problems.append(f"checkpoint {cp.size}: it has no heads line, so no bundle can prove it is complete")
            return
        for index in range(self.observed, cp.size):
            try:
                self.heads.observe_entry(self.view.entry(index))
            except (ValueError, KeyError, TypeError):
                problems.append(f"entry {index}: not a log entry (heads not checked from here on)")
                self.broken = True
                return
        self.observed = cp.size
        if self.heads.commit() != committed:
            problems.append(f"checkpoint {cp.size}: its heads line does not match the heads of the stored entries")


def check_rows(view: LogView, rows: Iterable[dict], prove: bool) -> list[tuple[str, int, str]]:
    """(entity, seq, problem) for sealed rows of this log that the log does not vouch for."""
    problems = []
    for row in rows:
        entity, seq, index = f"{row['entity_type']}:{row['entity_id']}", row["seq"], row["log_index"]
        if index < view.start:
            problems.append((entity, seq, f"log index {index} lies in the archived part of {view.log_id}"))
        elif index >= view.signed_size:
            problems.append((entity, seq, f"log index {index} is not covered by a signed checkpoint of {view.log_id}"))
        elif view.entry(index) != sealed_entry(row):
            problems.append((entity, seq, f"sealed row differs from entry {index} of {view.log_id}"))
        elif prove:
            if view.start:
                continue  # a proof needs the archived leaves: the root recomputed over the held ones covers the row
            proof = inclusion_proof(view.leaves[: view.signed_size], index)
            if not verify_inclusion(view.leaves[index], index, view.signed_size, proof, view.signed_root):
                problems.append((entity, seq, f"inclusion proof for entry {index} does not verify"))
    return problems


def logged_records(view: LogView) -> Iterable[tuple[int, dict]]:
    """(index, entry) of every ``sealed`` entry: each must still have its sealed row. An entry that is not a log
    entry at all (damaged bytes) is skipped here: its leaf no longer hashes to the signed root, which fails the log."""
    for index, entry in enumerate(view.entries, start=view.start):
        try:
            obj = json.loads(entry)
            sealed = isinstance(obj, dict) and obj.get("kind") == SEALED
        except ValueError:
            continue
        if sealed and all(k in obj for k in ("entity_type", "entity_id", "seq")):
            yield index, obj


def tile_problems(view: LogView, stored: dict[tuple[int, int], bytes], start: LogStart | None = None) -> list[str]:
    """Stored tiles that are not the hash of the entries they cover, or that cover entries the log does not hold.
    ``start``: where the view's entries begin after an archive cut; tiles wholly below it cannot be recomputed from
    the live store and are left to the archive's checks (a wrong one only makes proofs fail). A missing tile is no
    problem: proofs hash its entries instead."""
    completed: list[Tile] = []
    tree = start.tree.copy() if start is not None and view.start else CompactTree()
    tree.extend(view.leaves, completed)
    expected = {(height, index): h for height, index, h in completed}
    problems = []
    for (height, index), h in sorted(stored.items()):
        first, end = node_range(height, index)
        want = expected.get((height, index))
        if want is None and first < view.start:
            continue
        if want is None:
            problems.append(f"tile {height}/{index}: entries [{first}, {end}) are not all held, yet a tile covers them")
        elif want != h:
            problems.append(f"tile {height}/{index}: not the hash of entries [{first}, {end})")
    return problems


@dataclass
class RowProofs:
    """What one entity's rows of a log came to (`verify --battery`): problems of the log, problems of rows
    (entity, seq, problem), and the note of the latest verified checkpoint (for the witness check)."""

    log_problems: list[str] = field(default_factory=list)
    row_problems: list[tuple[str, int | None, str]] = field(default_factory=list)
    latest_note: str = ""
    signed_size: int = 0


def prove_rows(client: Client, log_id: str, verifiers: Sequence[Verifier], entity: str, rows: list[dict]) -> RowProofs:
    """Check one entity's sealed rows of a log (in seq order) against the log's latest verified checkpoint: each row
    equals its entry and is proven included, and the checkpoint's heads hold its last row as its newest."""
    found = RowProofs()
    signed: list[tuple[Checkpoint, str]] = []
    for cp_row in log_store.checkpoints(client, log_id):
        try:
            signed.append((open_checkpoint(cp_row.note, verifiers, origin=log_id), cp_row.note))
        except (NoteError, CheckpointError) as exc:
            found.log_problems.append(f"checkpoint {cp_row.size}: {exc}")
    if not signed:
        found.log_problems.append("no checkpoint signed by a trusted key")
        return found
    latest, found.latest_note = signed[-1]
    found.signed_size = latest.size
    tree = held_tree(client, log_id, latest.size)
    covered = [row for row in rows if tree.start <= row["log_index"] < latest.size]
    entries = log_store.entries_at(client, log_id, [row["log_index"] for row in covered])
    for row in rows:
        seq, index = row["seq"], row["log_index"]
        if index < tree.start:
            found.row_problems.append((entity, seq, f"log index {index} lies in the archived part of {log_id}"))
        elif index >= latest.size:
            found.row_problems.append(
                (entity, seq, f"log index {index} is not covered by a signed checkpoint of {log_id}")
            )
        elif entries.get(index) != sealed_entry(row):
            found.row_problems.append((entity, seq, f"sealed row differs from entry {index} of {log_id}"))
        else:
            try:
                proven = verify_inclusion(
                    leaf_hash(entries[index]), index, latest.size, tree.inclusion_proof(index), latest.root
                )
            except LookupError as exc:
                proven, why = False, f" ({exc})"
            else:
                why = ""
            if not proven:
                found.row_problems.append(
                    (entity, seq, f"inclusion proof for entry {index} of {log_id} does not verify{why}")
                )
    if covered:
        problem = head_problem(client, log_id, latest, entity, covered[-1])
        if problem is not None:
            found.row_problems.append((entity, None, problem))
    return found


def head_problem(client: Client, log_id: str, checkpoint: Checkpoint, entity: str, last: dict) -> str | None:
    """Completeness: why the checkpoint's heads tree does not hold ``last`` (the entity's last row under it) as the
    entity's newest record, or None when it does."""
    where = f"checkpoint {checkpoint.size} of {log_id}"
    try:
        committed = parse_heads(checkpoint.extensions)
    except HeadsLineError as exc:
        return f"{where}: {exc}"
    if committed is None:
        return f"{where} has no heads line, so nothing proves the records are complete"
    count, root = committed
    proof = stored_heads(client, log_id, checkpoint.size, keep_values=True).proof(entity)
    if proof is None:
        return f"{where} commits to no head of {entity}"
    leaf = proof["leaf"]
    length, chain_hash = leaf["length"], leaf["chain_hash"]  # type: ignore[index]
    if (length, chain_hash) != (last["seq"], last["chain_hash"]):
        return f"{where} commits to a chain of {length} records, the store's rows under it end at {last['seq']}"
    path = [bytes.fromhex(h) for h in proof["inclusion_proof"]]  # type: ignore[union-attr]
    if not verify_inclusion(leaf_hash(head_leaf(entity, length, chain_hash)), proof["index"], count, path, root):
        return f"its head does not reach the heads root of {where}"
    return None
