"""Signed checkpoints of the worker's partition logs: observed as batches are stored, signed when due, published.

A log the checkpointer does not follow yet (a start, a rebalance) is resumed from ClickHouse by a task of its own,
in the background: reading its last checkpoint, the entries after it and its heads takes seconds on a long log, and
a stored batch must not wait for it to be acknowledged. A batch of that log stored meanwhile is queued, and applied,
in order, once the resume has loaded the log; until then nothing signs the log, and reports waiting for a checkpoint
(``covers``) wait for it. A crash at any point leaves ClickHouse as complete as before: the next start resumes
from it again.

Everything that touches the checkpointer takes one lock: a batch's writer observing what it stored (or queueing it
behind a resume), the timer that signs idle logs, and a resume loading what it read and applying its queue must not
interleave (a log observed twice, or loaded while observed, would fail the checkpointer's consistency check or sign
a fork). Only a resume's ClickHouse read runs outside the lock: it reads the entries below the size the resume was
started with, which are stored already and never change, and while it runs the log is not in the checkpointer and
every observation of it goes to the resume's queue.

A start-up's resumes also wait for the first batch sealed after it, ``first_batch_s`` at most: a resume reads one row
per entity its log ever sealed (the heads), and on a long history that read and its hashing took the cores from the
first batch, which is what a restart waits for (sealing again). Once the first batch is acknowledged (plus one commit
interval, so its offsets go out first), or after ``first_batch_s`` without one (nothing to seal, but a crashed
worker's unsigned tail to sign), resumes read at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from battrace.store.heads import Heads
from battrace.store.logs import LastCheckpoint
from battrace.store.sink import SinkBatch
from battrace.tlog import CompactTree
from processors.checkpointer import Checkpointer, InconsistentLog
from processors.cosigning import Cosigning, SignedCheckpoint
from processors.sealing import PartitionLog

log = logging.getLogger(__name__)
# log id, log size -> the log's last stored checkpoint, the leaf hashes stored after it up to the size, and its heads
ReadStoredLog = Callable[[str, int], Awaitable[tuple[LastCheckpoint | None, list[bytes], Heads]]]
WriteRows = Callable[[SinkBatch], Awaitable[None]]
PublishCheckpoint = Callable[[str, str], Awaitable[None]]  # log id, signed note
OnSigned = Callable[[str, int, int], None]  # log id, size, created_at ms: a checkpoint was stored (metrics)


class ResumeFailed(RuntimeError):
    """A log could not be resumed from ClickHouse (it does not rebuild its state or its last checkpoint): the worker
    must stop rather than sign anything of it."""


@dataclass(frozen=True)
class _Observed:
    """What a stored batch appended to a log: its leaf hashes, the log's tree after them and the heads they set."""

    leaves: list[bytes]
    tree: CompactTree
    heads: list[tuple[str, int, str]]

    @property
    def base(self) -> int:
        """The log's size before the batch."""
        return self.tree.size - len(self.leaves)

    @classmethod
    def of(cls, plog: PartitionLog) -> _Observed:
        heads = [e.head for e in plog.appended if e.head is not None]
        return cls([e.leaf_hash for e in plog.appended], plog.tree.copy(), heads)


@dataclass
class _Resume:
    """A log being resumed: its task, and the observations of the batches stored since it started, in order."""

    task: asyncio.Task[None]
    queued: list[_Observed] = field(default_factory=list)


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
        on_all_followed: Callable[[], None] | None = None,
        first_batch_s: float = 0.0,
        commit_interval_s: float = 0.0,
    ) -> None:
        self.checkpointer = checkpointer
        self._read_stored = read_stored
        self._write = write
        self._publish = publish
        self._clock_ms = clock_ms
        self.cosigning = cosigning  # witnesses asked after a checkpoint is stored and published, never before
        self.lock = asyncio.Lock()
        self._on_signed = on_signed
        self._on_all_followed = on_all_followed  # no resume runs any more (start-up metrics)
        self._resumes: dict[str, _Resume] = {}  # log id -> its resume, while it runs
        self._failed: ResumeFailed | None = None
        self._first_batch_s = first_batch_s  # resumes wait this long at most for the first batch (module docstring)
        self._commit_interval_s = commit_interval_s
        self._first_batch: asyncio.Event | None = None  # set once the first batch is acknowledged; made in the loop
        self._resumes_may_read = first_batch_s <= 0

    @property
    def resuming(self) -> set[str]:
        """The logs being resumed from ClickHouse right now."""
        return set(self._resumes)

    def _check(self) -> None:
        """Raise what a resume failed with: nothing may be signed or observed after that (the worker exits)."""
        if self._failed is not None:
            raise self._failed

    def _start_resume(self, log_id: str, size: int, tree: CompactTree) -> None:
        """Resume the log in the background from what ClickHouse holds below ``size`` (its log state ``tree``).
        Called under the lock; the log leaves the checkpointer until the resume loads it, so nothing signs a view of
        it that a rebalance made stale."""
        self.checkpointer.logs.pop(log_id, None)
        task = asyncio.create_task(self._resume(log_id, size, tree.copy()), name=f"resume {log_id}")
        self._resumes[log_id] = _Resume(task)
        task.add_done_callback(lambda done: self._resumed(log_id, done))

    def _first_batch_event(self) -> asyncio.Event:
        if self._first_batch is None:
            self._first_batch = asyncio.Event()
        return self._first_batch

    def batch_acknowledged(self) -> None:
        """The seal stage acknowledged a stored batch: resumes waiting for the first one may read (module
        docstring)."""
        if not self._resumes_may_read:
            self._first_batch_event().set()

    async def _wait_for_first_batch(self) -> None:
        """Until the first batch after start-up is acknowledged and committed, ``first_batch_s`` at most."""
        if self._resumes_may_read:
            return
        try:
            await asyncio.wait_for(self._first_batch_event().wait(), self._first_batch_s)
            await asyncio.sleep(self._commit_interval_s)
        except TimeoutError:
            pass
        self._resumes_may_read = True

    async def _resume(self, log_id: str, size: int, tree: CompactTree) -> None:
        """Read the stored log (outside the lock: module docstring), load it, then apply the observations queued
        meanwhile in order. One that jumps past what was read (a batch whose observation never came) reads again up
        to it; one that ends within what was read is in it already."""
        await self._wait_for_first_batch()
        while True:
            last, leaves, heads = await self._read_stored(log_id, size)
            async with self.lock:
                try:
                    self.checkpointer.load(log_id, last, leaves, tree, heads)
                    resume = self._resumes[log_id]
                    queued, resume.queued = resume.queued, []
                    jump = self._apply(log_id, size, tree, queued)
                except BaseException:
                    self.checkpointer.logs.pop(log_id, None)  # nothing of it is signed
                    raise
                if jump is not None:
                    self.checkpointer.logs.pop(log_id)
                    resume.queued = queued[jump + 1 :]
                    size, tree = queued[jump].tree.size, queued[jump].tree
                else:
                    del self._resumes[log_id]
                    if not self._resumes and self._on_all_followed is not None:
                        self._on_all_followed()
                    return

    def _apply(self, log_id: str, size: int, tree: CompactTree, queued: list[_Observed]) -> int | None:
        """Apply the queued observations to the log just loaded at ``size`` (its ``tree``), in order; returns the
        position of the first one that starts past the log (read again up to it), else None."""
        for i, observed in enumerate(queued):
            if self.checkpointer.knows(log_id, observed.base):
                self.checkpointer.observe(log_id, observed.leaves, observed.tree, observed.heads)
            elif observed.tree.size > self.checkpointer.logs[log_id].size:
                return i
            elif observed.tree.size == size and observed.tree != tree:
                raise InconsistentLog(f"{log_id}: a batch stored a log of size {size} other than the one read")
        return None

    def _resumed(self, log_id: str, task: asyncio.Task[None]) -> None:
        """A resume ended: a failure is kept (and raised by the next call), and its log is never followed again."""
        if task.cancelled() or task.exception() is None:
            return
        log.critical("resuming %s from ClickHouse failed", log_id, exc_info=task.exception())
        self._failed = ResumeFailed(f"resuming {log_id} from ClickHouse failed: {task.exception()}")
        self._failed.__cause__ = task.exception()

    async def wait_resumed(self) -> None:
        """Until no log is being resumed (raises what a resume failed with)."""
        while self._resumes and self._failed is None:
            await asyncio.wait([r.task for r in self._resumes.values()])
        self._check()

    async def observe_stored(self, logs: Iterable[tuple[str, PartitionLog]]) -> None:
        """Logs (log id, grown log, in the order they were sealed) whose entries and state were just stored: observed,
        or queued behind the log's resume, which starts here if the checkpointer does not follow the log; never
        waits for a resume."""
        self._check()
        async with self.lock:  # a log that does not extend its last checkpoint raises: nothing is signed
            for log_id, plog in logs:
                observed = _Observed.of(plog)
                resume = self._resumes.get(log_id)
                if resume is not None:
                    resume.queued.append(observed)
                elif self.checkpointer.knows(log_id, observed.base):
                    self.checkpointer.observe(log_id, observed.leaves, observed.tree, observed.heads)
                else:
                    self._start_resume(log_id, plog.size, plog.tree)

    async def follow(self, log_id: str, state: dict[str, Any]) -> None:
        """Start resuming a log the checkpointer does not follow yet from its stored ``state``, unless it follows it
        or resumes it already (a batch stored meanwhile started it)."""
        self._check()
        async with self.lock:
            if log_id not in self.checkpointer.logs and log_id not in self._resumes:
                plog = PartitionLog(state)
                self._start_resume(log_id, plog.size, plog.tree)

    async def publish_due(self) -> None:
        """Sign what is due, store it in ClickHouse (one insert for every log's), then publish it on
        trace.checkpoints; then hand it to the witnesses, if any (they answer in the background). A log being
        resumed is not due: it is signed once it is followed."""
        self._check()
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
        """Wait (at most ``wait_s``) until a signed checkpoint of the log covers the entry at ``log_index`` (a log
        being resumed is covered once it is followed and signed)."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            state = self.checkpointer.logs.get(log_id)
            if state is not None and state.signed.size > log_index:
                return True
            await asyncio.sleep(poll_s)
        return False
