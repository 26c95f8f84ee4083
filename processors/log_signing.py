"""Signed checkpoints of the worker's partition logs: observed as batches are stored, signed when due, published.

Everything that touches the checkpointer takes one lock: a batch's writer observing what it stored, the timer that
signs idle logs, and a log being resumed from ClickHouse after a start or rebalance must not interleave (a log
observed twice, or resumed while observed, would fail the checkpointer's consistency check or sign a fork).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from battrace.store.heads import Heads
from battrace.store.logs import LastCheckpoint
from battrace.store.sink import SinkBatch
from processors.checkpointer import Checkpointer
from processors.cosigning import Cosigning, SignedCheckpoint
from processors.sealing import PartitionLog

# log id, log size -> the log's last stored checkpoint, the leaf hashes stored after it up to the size, and its heads
ReadStoredLog = Callable[[str, int], Awaitable[tuple[LastCheckpoint | None, list[bytes], Heads]]]
WriteRows = Callable[[SinkBatch], Awaitable[None]]
PublishCheckpoint = Callable[[str, str], Awaitable[None]]  # log id, signed note
OnSigned = Callable[[str, int, int], None]  # log id, size, created_at ms: a checkpoint was stored (metrics)


class LogSigning:
    def __init__(
        self,
        checkpointer: Checkpointer,
        read_stored: ReadStoredLog,
        write: WriteRows,
        publish: PublishCheckpoint,
        clock_ms: Callable[[], int] = lambda: round(time.time() * 1000),
        cosigning: Cosigning | None = None,
        on_signed: OnSigned | None = None,
    ) -> None:
        self.checkpointer = checkpointer
        self._read_stored = read_stored
        self._write = write
        self._publish = publish
        self._clock_ms = clock_ms
        self.cosigning = cosigning  # witnesses asked after a checkpoint is stored and published, never before
        self.lock = asyncio.Lock()
        self._on_signed = on_signed

    async def _resume(self, log_id: str, log: PartitionLog) -> None:
        """Bring the checkpointer in step with a log it has not followed (start-up, rebalance)."""
        last, leaves, heads = await self._read_stored(log_id, log.size)
        self.checkpointer.load(log_id, last, leaves, log.tree, heads)

    async def observe_stored(self, logs: Iterable[tuple[str, PartitionLog]]) -> None:
        """Logs (log id, grown log, in the order they were sealed) whose entries and state were just stored."""
        async with self.lock:  # a log that does not extend its last checkpoint raises: nothing is signed
            for log_id, plog in logs:
                if self.checkpointer.knows(log_id, plog.size - len(plog.appended)):
                    heads = [e.head for e in plog.appended if e.head is not None]
                    self.checkpointer.observe(log_id, [e.leaf_hash for e in plog.appended], plog.tree, heads)
                else:
                    await self._resume(log_id, plog)

    async def follow(self, log_id: str, state: dict[str, Any]) -> None:
        """Resume a log the checkpointer does not follow yet from its stored ``state``, unless a batch stored
        meanwhile resumed it already."""
        async with self.lock:
            if log_id not in self.checkpointer.logs:
                await self._resume(log_id, PartitionLog(state))

    async def publish_due(self) -> None:
        """Sign what is due, store it in ClickHouse (one insert for every log's), then publish it on
        trace.checkpoints; then hand it to the witnesses, if any (they answer in the background)."""
        async with self.lock:
            batch, signed = SinkBatch(), []
            for log_id in self.checkpointer.due():
                before = self.checkpointer.logs[log_id]  # what proves the new checkpoint extends the last one
                base, appended = before.signed.copy(), list(before.pending)
                row = self.checkpointer.sign(log_id, self._clock_ms())
                batch.add("checkpoints", row)
                signed.append(SignedCheckpoint(row, base, appended))
            await self._write(batch)
            for row in batch.rows["checkpoints"]:
                if self._on_signed is not None:
                    self._on_signed(row["log_id"], row["size"], row["created_at"])
                await self._publish(row["log_id"], row["note"])
            if self.cosigning is not None:
                for checkpoint in signed:
                    self.cosigning.submit(checkpoint)

    async def covers(self, log_id: str, log_index: int, wait_s: float, poll_s: float = 0.2) -> bool:
        """Wait (at most ``wait_s``) until a signed checkpoint of the log covers the entry at ``log_index``."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            state = self.checkpointer.logs.get(log_id)
            if state is not None and state.signed.size > log_index:
                return True
            await asyncio.sleep(poll_s)
        return False
