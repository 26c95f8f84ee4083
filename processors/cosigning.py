"""Witness cosignatures of signed checkpoints, gathered off the seal stage's path.

The checkpointer signs and the worker stores and publishes the log-signed note at once (processors/log_signing.py):
sealing never waits for a witness. Each new checkpoint is then handed here; a background task asks the witnesses
(processors/witnesses.py, each request bounded by a timeout) and stores the cosigned note over the stored row (the
``checkpoints`` table is a ReplacingMergeTree keyed on log and size, so the later insert of the same key is what
``FINAL`` reads) and publishes it on trace.checkpoints.

A witness that is slow or down costs only its cosignature: while a log's checkpoint is with the witnesses, newer
checkpoints of that log wait here, and only the newest is sent next (a witness can jump ahead with one consistency
proof). The proof comes from memory when the witness holds the checkpoint before the one sent (the usual case: the
tree signed then and the leaves appended since), else from the store (processors/clickhouse_writer.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from battrace.store.sink import SinkBatch
from battrace.tlog import CompactTree, consistency_proof_appended

if TYPE_CHECKING:  # the HTTP client is imported only by a worker that has witnesses (processors/worker.py)
    from processors.witnesses import WitnessClient

log = logging.getLogger(__name__)

# log id, old size, new size -> the consistency proof between them, from the stored log
StoredProof = Callable[[str, int, int], Awaitable[list[bytes]]]
WriteRows = Callable[[SinkBatch], Awaitable[None]]
PublishCheckpoint = Callable[[str, str], Awaitable[None]]  # log id, note


@dataclass
class SignedCheckpoint:
    """A checkpoint just stored (its ``checkpoints`` row) and what proves it extends the one signed before it."""

    row: dict[str, Any]
    base: CompactTree  # the tree of the log's previous checkpoint
    appended: list[bytes] = field(default_factory=list)  # leaf hashes from base.size to the row's size

    def after(self, older: SignedCheckpoint) -> SignedCheckpoint:
        """This checkpoint, proven from ``older``'s base (``older`` was never sent: this one replaces it)."""
        return SignedCheckpoint(self.row, older.base, older.appended + self.appended)

    def proof_in_memory(self, old_size: int) -> list[bytes] | None:
        if old_size != self.base.size:
            return None
        return consistency_proof_appended(self.base.hashes, self.base.size, self.appended)


class Cosigning:
    def __init__(
        self,
        witnesses: WitnessClient,
        stored_proof: StoredProof,
        write: WriteRows,
        publish: PublishCheckpoint,
        deadline_s: float,
    ) -> None:
        self.witnesses = witnesses
        self._stored_proof = stored_proof
        self._write = write
        self._publish = publish
        self._deadline_s = deadline_s  # the most one round of witness requests may take
        self._waiting: dict[str, SignedCheckpoint] = {}  # log id -> newest checkpoint not sent yet
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._busy = False

    def submit(self, checkpoint: SignedCheckpoint) -> None:
        """Queue a stored checkpoint for cosigning; returns at once (the background task starts on first use)."""
        log_id = checkpoint.row["log_id"]
        older = self._waiting.get(log_id)
        self._waiting[log_id] = checkpoint.after(older) if older is not None else checkpoint
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="witness cosigning")

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            jobs, self._waiting = list(self._waiting.values()), {}
            self._busy = True
            try:
                await self._round(jobs)
            except Exception:  # a failed round costs its cosignatures, never the worker
                log.exception("cosigning %d checkpoint(s) failed", len(jobs))
            finally:
                self._busy = False

    async def _round(self, jobs: list[SignedCheckpoint]) -> None:
        """Ask the witnesses about one checkpoint per log, side by side; store and publish what they cosigned."""
        notes = await asyncio.gather(*(self._cosign(job) for job in jobs))
        batch = SinkBatch()
        for job, note in zip(jobs, notes, strict=True):
            if note is not None and note != job.row["note"]:
                batch.add("checkpoints", {**job.row, "note": note})
        await self._write(batch)
        for row in batch.rows["checkpoints"]:
            await self._publish(row["log_id"], row["note"])

    async def _cosign(self, job: SignedCheckpoint) -> str | None:
        log_id, size = job.row["log_id"], job.row["size"]

        async def proof_from(old_size: int) -> list[bytes]:
            proof = job.proof_in_memory(old_size)
            return proof if proof is not None else await self._stored_proof(log_id, old_size, size)

        try:
            return await asyncio.wait_for(
                self.witnesses.cosign(job.row["note"], log_id, size, proof_from), self._deadline_s
            )
        except TimeoutError:
            log.warning("witnesses did not answer for %s size %d within %.0f s", log_id, size, self._deadline_s)
        except Exception:  # e.g. the store lacks the leaves of a proof: this checkpoint goes without cosignatures
            log.exception("asking the witnesses about %s size %d failed", log_id, size)
        return None

    async def settled(self, timeout_s: float) -> bool:
        """Wait until every queued checkpoint went to the witnesses (tests, shutdown); False on timeout."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            if not self._waiting and not self._wake.is_set() and not self._busy:
                return True
            await asyncio.sleep(0.05)
        return False

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.witnesses.close()
