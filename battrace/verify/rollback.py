"""Catch a store rolled back behind what this verifier already accepted (see checkpoint_memory.py).

For every log the verifier remembers, the store's newest checkpoint that verifies must be at least as large
as the remembered one and consistent with it: an RFC 9162 consistency proof is computed from the stored
entries and checked with battrace.tlog. A store that shares no log id with the memory is a logically new
store, not a rollback. The newest verified checkpoint of each log that passes becomes what is remembered
next (the caller stores it once the rest of the verification agrees).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from battrace.store.logs import StoredCheckpoint
from battrace.tlog import NoteError, Verifier, consistency_proof, open_checkpoint, verify_consistency
from battrace.tlog.checkpoint import CheckpointError
from battrace.verify.checkpoint_memory import CheckpointMemory, RememberedCheckpoint

LeafHashes = Callable[[str, int], list[bytes]]  # (log id, size) -> leaf hashes [0, size); LookupError if lacking
# (log id, old size, new size) -> an RFC 9162 consistency proof; LookupError if the store cannot make it
Prover = Callable[[str, int, int], list[bytes]]


@dataclass
class RollbackCheck:
    """Per log: what contradicts the memory, and the checkpoints fit to be remembered from now on."""

    problems: list[tuple[str, str]] = field(default_factory=list)
    accepted: list[RememberedCheckpoint] = field(default_factory=list)
    newest: dict[str, RememberedCheckpoint] = field(default_factory=dict)  # the store's, per log, verified


def newest_verified(
    stored: Iterable[StoredCheckpoint], verifiers: Sequence[Verifier]
) -> dict[str, RememberedCheckpoint]:
    """Per log, the largest stored checkpoint whose signature verifies for its own origin (others are skipped:
    the log audit reports them)."""
    newest: dict[str, RememberedCheckpoint] = {}
    for row in stored:
        try:
            cp = open_checkpoint(row.note, verifiers, origin=row.log_id)
        except (NoteError, CheckpointError):
            continue
        if row.log_id not in newest or cp.size >= newest[row.log_id].size:
            newest[row.log_id] = RememberedCheckpoint(row.log_id, cp.size, cp.root, row.note)
    return newest


def check_rollback(
    stored: Iterable[StoredCheckpoint],
    leaf_hashes: LeafHashes,
    verifiers: Sequence[Verifier],
    memory: CheckpointMemory,
    prove: Prover | None = None,
) -> RollbackCheck:
    """Compare the store's newest verified checkpoint of every log with what ``memory`` holds. ``prove``: how to
    make a consistency proof when not from every leaf (a log whose beginning is archived; default: from
    ``leaf_hashes``)."""
    stored = list(stored)
    current = newest_verified(stored, verifiers)
    remembered_ids = memory.log_ids()
    check = RollbackCheck(newest=current)
    if not set(remembered_ids) & {row.log_id for row in stored}:
        check.accepted = list(current.values())  # a logically new store: nothing to compare with
        return check
    for log_id in sorted(set(remembered_ids) | set(current)):
        old, new = memory.recall(log_id), current.get(log_id)
        if old is None:
            if new is not None:
                check.accepted.append(new)
            continue
        problem = _contradiction(old, new, prove or _from_leaves(leaf_hashes))
        if problem is None:
            check.accepted.append(new)  # type: ignore[arg-type]  # no contradiction implies a checkpoint
        else:
            fix = f"if the store was replaced on purpose, remove {memory.path(log_id)}"
            accepted = f"this verifier accepted size {old.size} root {old.root.hex()}"
            check.problems.append((log_id, f"{problem}; {accepted} ({fix})"))
    return check


def _from_leaves(leaf_hashes: LeafHashes) -> Prover:
    return lambda log_id, old_size, new_size: consistency_proof(leaf_hashes(log_id, new_size), old_size)


def _contradiction(old: RememberedCheckpoint, new: RememberedCheckpoint | None, prove: Prover) -> str | None:
    """Why the store's newest checkpoint does not extend the remembered one, or None if it does."""
    if new is None:
        return f"rolled back: the store holds no verified checkpoint of {old.log_id}"
    if new.size < old.size:
        return f"rolled back: the store's newest checkpoint of {old.log_id} has size {new.size}"
    if new.size == old.size:  # the same size must be the same tree: no leaves needed (they may be archived)
        if new.root == old.root:
            return None
        return f"forked: checkpoint {new.size} of {old.log_id} has another root, not consistent with the remembered one"
    try:
        proof = prove(old.log_id, old.size, new.size)
    except LookupError as exc:
        return f"cannot prove checkpoint {new.size} of {old.log_id} consistent: {exc}"
    if not verify_consistency(old.size, new.size, proof, old.root, new.root):
        return f"forked: checkpoint {new.size} of {old.log_id} is not consistent with the remembered one"
    return None
