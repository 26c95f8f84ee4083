"""LogSigning resumes a log it does not follow in the background: a batch stored meanwhile is not held up, its
observation is applied in order once the stored log is loaded, and the next checkpoint extends the last one; a
queued batch that forks the log is never signed. The store is a list of entries, read as the worker reads ClickHouse
(processors/clickhouse_writer.py stored_log), and a gate holds the read as long as a test likes."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from battrace.store.heads import Heads
from battrace.store.logs import LastCheckpoint, StoredCheckpoint
from battrace.store.sink import SinkBatch
from battrace.tlog import Checkpoint, consistency_proof, generate_signer, leaf_hash, root_hash, verify_consistency
from processors.checkpointer import Checkpointer
from processors.log_signing import LogSigning, ResumeFailed
from processors.sealing import PartitionLog
from schemas.heads import head_leaf, parse_heads
from schemas.log_entries import SEALED, sealed_entry

LOG = "test.example/log/0"


class StoredLog:
    """What ClickHouse holds of the log: its entries in index order and its checkpoint rows; ``gate`` holds reads."""

    def __init__(self) -> None:
        self.entries: list[bytes] = []
        self.checkpoints: list[dict[str, Any]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.reads: list[int] = []  # the size of each read, in order

    def store(self, plog: PartitionLog) -> PartitionLog:
        for e in plog.appended:
            assert e.index == len(self.entries)
            self.entries.append(e.entry)
        return plog

    async def read(self, log_id: str, size: int) -> tuple[LastCheckpoint | None, list[bytes], Heads]:
        self.reads.append(size)
        await self.gate.wait()
        last = None
        if self.checkpoints:
            row = self.newest()
            last = StoredCheckpoint(log_id, row["size"], row["root"], row["note"], tuple(row["compact_range"])).last()
        start = last.size if last else 0
        heads = Heads()
        for entry in self.entries[:start]:
            heads.observe_entry(entry)
        heads.commit()
        for entry in self.entries[start:size]:
            heads.observe_entry(entry)
        return last, [leaf_hash(e) for e in self.entries[start:size]], heads

    async def write(self, batch: SinkBatch) -> None:
        self.checkpoints.extend(batch.rows.get("checkpoints", []))

    def newest(self) -> dict[str, Any]:
        return max(self.checkpoints, key=lambda row: row["size"])


async def published(log_id: str, note: str) -> None:
    pass


def signing(stored: StoredLog, first_batch_s: float = 0.0) -> LogSigning:
    checkpointer = Checkpointer([generate_signer("test.example/log")], every=1, seconds=10**9)
    return LogSigning(
        checkpointer, stored.read, stored.write, published, clock_ms=lambda: 0, first_batch_s=first_batch_s
    )


def batch(before: PartitionLog | None, offset: int, items: range, salt: str = "") -> PartitionLog:
    """The log after one trace.chain message (``offset``) of sealed items, grown from ``before``."""
    plog = PartitionLog(before.state() if before else None)
    assert plog.first_index(offset) == plog.size
    for i in items:
        entity = f"battery:B{i % 7}"
        row = {
            "entity_type": "battery",
            "entity_id": f"B{i % 7}",
            "seq": i + 1,
            "event_id": f"e{i}{salt}",
            "event_hash": "00" * 32,
            "chain_hash": f"{i:064x}",
        }
        plog.add(sealed_entry(row), SEALED, (entity, i + 1, row["chain_hash"]))
    return plog


def extends(stored: StoredLog, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """The checkpoint ``new`` extends ``old`` over the stored leaves, and commits to the heads of its entries."""
    leaves = [leaf_hash(e) for e in stored.entries[: new["size"]]]
    proof = consistency_proof(leaves, old["size"])
    consistent = verify_consistency(
        old["size"], new["size"], proof, bytes.fromhex(old["root"]), bytes.fromhex(new["root"])
    )
    newest: dict[str, tuple[int, str]] = {}
    for entry in stored.entries[: new["size"]]:
        obj = msgspec.json.decode(entry)
        newest[f"{obj['entity_type']}:{obj['entity_id']}"] = (obj["seq"], obj["chain_hash"])
    heads = len(newest), root_hash([leaf_hash(head_leaf(e, n, h)) for e, (n, h) in newest.items()])
    note = Checkpoint.parse(new["note"].split("\n\n")[0] + "\n")
    return consistent and note.size == new["size"] and parse_heads(note.extensions) == heads


async def a_first_worker(stored: StoredLog) -> PartitionLog:
    """Two batches logged and signed (size 9); returns the log after them."""
    first = signing(stored)
    a = stored.store(batch(None, 0, range(5)))
    await first.observe_stored([(LOG, a)])
    await first.wait_resumed()  # a log's first batch resumes it too: from an empty store
    await first.publish_due()
    b = stored.store(batch(a, 1, range(5, 9)))
    await first.observe_stored([(LOG, b)])
    await first.publish_due()
    assert [row["size"] for row in stored.checkpoints] == [5, 9]
    stored.reads.clear()
    return b


def test_a_batch_stored_while_its_log_resumes_is_not_held_up_and_the_next_checkpoint_extends_the_last() -> None:
    stored = StoredLog()

    async def scenario() -> None:
        b = await a_first_worker(stored)
        last = stored.newest()
        stored.gate.clear()  # the successor's read of the stored log takes its time
        new = signing(stored)
        c = stored.store(batch(b, 2, range(9, 12)))
        await asyncio.wait_for(new.observe_stored([(LOG, c)]), 1)  # returns at once: the resume runs apart
        d = stored.store(batch(c, 3, range(12, 20)))
        await asyncio.wait_for(new.observe_stored([(LOG, d)]), 1)  # queued behind the resume
        await new.publish_due()
        assert new.resuming == {LOG} and LOG not in new.checkpointer.logs
        assert stored.checkpoints[-1] is last  # nothing signed while the log is resumed
        assert not await new.covers(LOG, 0, wait_s=0.05, poll_s=0.01)  # reports wait for it
        stored.gate.set()
        await new.wait_resumed()
        await new.publish_due()
        assert stored.reads == [12]  # read up to the size it started with; the later batch came from memory
        assert stored.newest()["size"] == 20 and extends(stored, last, stored.newest())
        assert await new.covers(LOG, 19, wait_s=0.05, poll_s=0.01)

    asyncio.run(scenario())


def test_a_batch_stored_before_a_resume_read_its_state_is_not_observed_twice() -> None:
    stored = StoredLog()

    async def scenario() -> None:
        b = await a_first_worker(stored)
        last = stored.newest()
        new = signing(stored)
        stored.gate.clear()
        c = stored.store(batch(b, 2, range(9, 12)))
        await new.follow(LOG, c.state())  # the timer read the table after c's state was stored ...
        await new.observe_stored([(LOG, c)])  # ... and before c's writer observed it
        d = stored.store(batch(c, 3, range(12, 15)))
        await new.observe_stored([(LOG, d)])
        stored.gate.set()
        await new.wait_resumed()
        await new.publish_due()
        assert stored.reads == [12]
        assert stored.newest()["size"] == 15 and extends(stored, last, stored.newest())

    asyncio.run(scenario())


def test_a_queued_batch_past_what_was_read_reads_the_log_again_up_to_it() -> None:
    stored = StoredLog()

    async def scenario() -> None:
        b = await a_first_worker(stored)
        last = stored.newest()
        new = signing(stored)
        stored.gate.clear()
        await new.follow(LOG, b.state())  # resumes at 9
        c = stored.store(batch(b, 2, range(9, 12)))  # stored, but never observed here
        d = stored.store(batch(c, 3, range(12, 15)))
        await new.observe_stored([(LOG, d)])  # starts past what the resume reads: no gap may be signed
        stored.gate.set()
        await new.wait_resumed()
        await new.publish_due()
        assert stored.reads == [9, 15]
        assert stored.newest()["size"] == 15 and extends(stored, last, stored.newest())

    asyncio.run(scenario())


def test_a_queued_batch_that_forks_the_log_it_was_resumed_from_stops_the_signing() -> None:
    stored = StoredLog()

    async def scenario() -> None:
        b = await a_first_worker(stored)
        new = signing(stored)
        stored.gate.clear()
        c = stored.store(batch(b, 2, range(9, 12)))
        await new.follow(LOG, c.state())
        forged = batch(b, 2, range(9, 12), salt="x")  # same size, other entries
        await new.observe_stored([(LOG, forged)])
        stored.gate.set()
        with pytest.raises(ResumeFailed, match="other than the one read"):
            await new.wait_resumed()
        with pytest.raises(ResumeFailed):
            await new.publish_due()
        with pytest.raises(ResumeFailed):
            await new.observe_stored([(LOG, batch(c, 3, range(12, 13)))])
        assert stored.newest()["size"] == 9 and LOG not in new.checkpointer.logs

    asyncio.run(scenario())


def test_a_start_ups_resume_reads_the_history_only_once_the_first_batch_is_acknowledged() -> None:
    stored = StoredLog()

    async def scenario() -> None:
        b = await a_first_worker(stored)
        new = signing(stored, first_batch_s=60)
        await new.follow(LOG, b.state())  # the table recovered: the log's resume is asked for at once ...
        await asyncio.sleep(0.05)
        assert stored.reads == [] and new.resuming == {LOG}  # ... but reads nothing while the first batch is sealed
        c = stored.store(batch(b, 2, range(9, 12)))
        await new.observe_stored([(LOG, c)])  # queued behind the waiting resume
        new.batch_acknowledged()
        await asyncio.wait_for(new.wait_resumed(), 1)
        await new.publish_due()
        assert stored.reads == [9] and stored.newest()["size"] == 12

    asyncio.run(scenario())


def test_with_no_batch_to_seal_a_start_ups_resume_reads_after_the_wait() -> None:
    stored = StoredLog()

    async def scenario() -> None:
        b = await a_first_worker(stored)
        new = signing(stored, first_batch_s=0.2)
        await new.follow(LOG, b.state())
        await asyncio.sleep(0.05)
        assert stored.reads == []
        await asyncio.wait_for(new.wait_resumed(), 1)  # a crashed worker's unsigned tail is signed all the same
        assert stored.reads == [9] and LOG in new.checkpointer.logs

    asyncio.run(scenario())
