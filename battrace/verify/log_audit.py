"""Audit the per-partition logs held in ClickHouse against their signed checkpoints.

For each log: every checkpoint's signature (by a trusted key, with the log's own origin), its root recomputed from
the stored entries, its heads line (schemas/heads.py) recomputed from the same entries, and consistency between
successive checkpoints (a proof is generated from the entries and verified). Then each sealed row is checked
against the log: its entry must equal the logged one and lie under the latest checkpoint — with the root recomputed
over every entry, that is a full inclusion check; for a single battery, RFC 9162 inclusion proofs are also
verified. Finally every logged ``sealed`` entry must still have its row (a deleted row is caught here).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client

from battrace.store import logs as log_store
from battrace.store.heads import Heads
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
from schemas.heads import HeadsLineError, parse_heads
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
    """(index, entry) of every ``sealed`` entry: each must still have its sealed row."""
    for index, entry in enumerate(view.entries, start=view.start):
        obj = json.loads(entry)
        if obj["kind"] == SEALED:
            yield index, obj
