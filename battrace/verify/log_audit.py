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
    """One log as the store holds it, with what the audit found."""

    log_id: str
    leaves: list[bytes] = field(default_factory=list)
    entries: list[bytes] = field(default_factory=list)
    signed_size: int = 0
    signed_root: bytes = b""
    latest_note: str = ""
    problems: list[str] = field(default_factory=list)


def audit_log(client: Client, log_id: str, verifiers: Sequence[Verifier]) -> LogView:
    view = LogView(log_id)
    stored = log_store.entries(client, log_id)
    tree = CompactTree()
    for expected, (index, entry, stored_hash) in enumerate(stored):
        if index != expected:
            view.problems.append(f"entries missing from index {expected} (next stored: {index})")
            break
        h = leaf_hash(entry)
        if h != stored_hash:
            view.problems.append(f"entry {index}: stored leaf_hash does not match the entry")
        view.leaves.append(h)
        view.entries.append(entry)
    previous: tuple[int, bytes] | None = None
    heads = HeadsAudit(view)
    for cp_row in log_store.checkpoints(client, log_id):
        try:
            cp = open_checkpoint(cp_row.note, verifiers, origin=log_id)
        except (NoteError, CheckpointError) as exc:
            view.problems.append(f"checkpoint {cp_row.size}: {exc}")
            continue
        if cp.size > len(view.leaves):
            view.problems.append(f"checkpoint {cp.size}: only {len(view.leaves)} entries are stored")
            continue
        while tree.size < cp.size:
            tree.append(view.leaves[tree.size])
        if tree.root() != cp.root:
            view.problems.append(f"checkpoint {cp.size}: the stored entries do not hash to its root")
            continue
        heads.check(cp)
        if previous is not None:
            old_size, old_root = previous
            proof = consistency_proof(view.leaves[: cp.size], old_size)
            if not verify_consistency(old_size, cp.size, proof, old_root, cp.root):
                view.problems.append(f"checkpoint {cp.size} is not consistent with checkpoint {old_size}")
        previous = (cp.size, cp.root)
        view.signed_size, view.signed_root, view.latest_note = cp.size, cp.root, cp_row.note
    if previous is None:
        view.problems.append("no checkpoint signed by a trusted key")
    return view


class HeadsAudit:
    """The heads of a log's entries, walked forward checkpoint by checkpoint (rehashing only what changed)."""

    def __init__(self, view: LogView) -> None:
        self.view, self.heads, self.observed, self.broken = view, Heads(), 0, False

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
                self.heads.observe_entry(self.view.entries[index])
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
        if index >= view.signed_size:
            problems.append((entity, seq, f"log index {index} is not covered by a signed checkpoint of {view.log_id}"))
        elif view.entries[index] != sealed_entry(row):
            problems.append((entity, seq, f"sealed row differs from entry {index} of {view.log_id}"))
        elif prove:
            proof = inclusion_proof(view.leaves[: view.signed_size], index)
            if not verify_inclusion(view.leaves[index], index, view.signed_size, proof, view.signed_root):
                problems.append((entity, seq, f"inclusion proof for entry {index} does not verify"))
    return problems


def logged_records(view: LogView) -> Iterable[tuple[int, dict]]:
    """(index, entry) of every ``sealed`` entry: each must still have its sealed row."""
    for index, entry in enumerate(view.entries):
        obj = json.loads(entry)
        if obj["kind"] == SEALED:
            yield index, obj
