"""Signed checkpoints of the per-partition logs: when one is due, and proof that it extends the last.

A checkpoint is signed every ``every`` new entries or ``seconds`` after the oldest unsigned one, and carries the
log's heads (schemas/heads.py) as an extension line: each sealed entry observed updates its entity's head, and the
heads tree is rehashed along the changed paths once per checkpoint. Before it is published, a consistency proof
from the previous checkpoint is generated from what the worker holds (the previous tree's compact range and the
leaves appended since) and verified against both roots: a worker whose memory and log state disagree refuses to
sign rather than fork the log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from battrace.store.heads import Heads
from battrace.store.logs import LastCheckpoint
from battrace.tlog import (
    EMPTY_ROOT,
    Checkpoint,
    CompactTree,
    Signer,
    consistency_proof_appended,
    sign_checkpoint,
    verify_consistency,
)


class InconsistentLog(RuntimeError):
    """The log state does not extend the last signed checkpoint: never sign it."""


@dataclass
class _Log:
    signed: CompactTree  # the tree the last checkpoint was signed over
    current: CompactTree  # the log state as last persisted by the seal stage
    pending: list[bytes] = field(default_factory=list)  # leaf hashes appended since the checkpoint
    heads: Heads = field(default_factory=Heads)  # committed as of ``signed``; observed since then pending
    oldest_pending: float | None = None

    @property
    def size(self) -> int:
        return self.signed.size + len(self.pending)


class Checkpointer:
    def __init__(
        self,
        signers: Sequence[Signer],
        every: int,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not signers:
            raise ValueError("a checkpointer needs at least one signer")
        self.signers = list(signers)
        self.every, self.seconds, self.clock = every, seconds, clock
        self.logs: dict[str, _Log] = {}

    def knows(self, log_id: str, size: int) -> bool:
        """True if memory is in step with a log state of ``size`` (else :meth:`load` first)."""
        log = self.logs.get(log_id)
        return log is not None and log.size == size

    def load(
        self, log_id: str, last: LastCheckpoint | None, leaves_since: Sequence[bytes], tree: CompactTree, heads: Heads
    ) -> None:
        """Resume a log from the store: its last checkpoint, the leaves appended after it and the heads of the log
        (committed as of the checkpoint, the entries after it observed)."""
        if last is None:
            signed = CompactTree()
        else:
            signed = CompactTree.from_dict({"size": last.size, "hashes": [h.hex() for h in last.compact_range]})
            if signed.root() != last.root:
                raise InconsistentLog(f"{log_id}: stored compact range does not hash to checkpoint {last.size}")
        check = signed.copy()
        check.extend(leaves_since)
        if check != tree:
            raise InconsistentLog(
                f"{log_id}: checkpoint {signed.size} + {len(leaves_since)} stored leaves "
                f"do not rebuild the log state of size {tree.size}"
            )
        if last is not None and last.heads is not None and heads.committed != last.heads:
            raise InconsistentLog(f"{log_id}: the stored entries do not rebuild the heads of checkpoint {last.size}")
        self.logs[log_id] = _Log(signed, tree.copy(), list(leaves_since), heads, self.clock() if leaves_since else None)

    def observe(
        self,
        log_id: str,
        appended: Sequence[bytes],
        tree: CompactTree,
        heads: Iterable[tuple[str, int, str]] = (),
    ) -> None:
        """Leaves just made durable (ClickHouse and log state ``tree``) and the (entity, seq, chain hash) of their
        ``sealed`` entries, in log order; call :meth:`knows` before."""
        log = self.logs[log_id]
        for entity, length, chain_hash in heads:
            log.heads.observe(entity, length, chain_hash)
        if appended and log.oldest_pending is None:
            log.oldest_pending = self.clock()
        log.pending.extend(appended)
        log.current = tree.copy()

    def due(self) -> list[str]:
        now = self.clock()
        return [
            log_id
            for log_id, log in self.logs.items()
            if log.pending and (len(log.pending) >= self.every or now - (log.oldest_pending or now) >= self.seconds)
        ]

    def sign(self, log_id: str, created_at_ms: int) -> dict[str, Any]:
        """A signed checkpoint row over everything observed, proven consistent with the last one."""
        log = self.logs[log_id]
        new = log.current
        old_root = log.signed.root() if log.signed.size else EMPTY_ROOT
        try:
            proof = consistency_proof_appended(log.signed.hashes, log.signed.size, log.pending)
        except ValueError as exc:
            raise InconsistentLog(f"{log_id}: cannot prove size {new.size} from checkpoint {log.signed.size}") from exc
        if log.signed.size + len(log.pending) != new.size or not verify_consistency(
            log.signed.size, new.size, proof, old_root, new.root()
        ):
            raise InconsistentLog(f"{log_id}: size {new.size} is not consistent with checkpoint {log.signed.size}")
        note = sign_checkpoint(Checkpoint(log_id, new.size, new.root(), (log.heads.line(),)), self.signers)
        self.logs[log_id] = _Log(new.copy(), new.copy(), heads=log.heads)
        return {
            "log_id": log_id,
            "size": new.size,
            "root": new.root().hex(),
            "note": note,
            "key_id": ",".join(s.key_id.hex() for s in self.signers),
            "compact_range": [h.hex() for h in new.hashes],
            "created_at": created_at_ms,
        }
