"""The seal stage with no broker and no ClickHouse: a dict as the table, recording sink, changelog and topics.

What is checked is what the worker's at-least-once delivery rests on (processors/seal_stage.py):
rows are stored before the states that say they were, the states before the offsets are acked, a store that
fails marks nothing stored, and whatever a crash leaves half done is sealed again to the very same rows.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
from aiokafka.structs import ConsumerRecord

from battrace.settings import Settings
from battrace.store.heads import Heads
from battrace.store.logs import LastCheckpoint, StoredCheckpoint
from battrace.store.sink import Blocks, SinkBatch
from battrace.tlog import (
    Checkpoint,
    CompactTree,
    consistency_proof,
    generate_signer,
    leaf_hash,
    root_hash,
    verify_consistency,
)
from processors import table_codec
from processors.checkpointer import Checkpointer
from processors.event_ids import EventIdIndex
from processors.ingest import ingest_batch
from processors.log_signing import LogSigning
from processors.runtime import heap
from processors.seal_stage import Newest, Sealed, SealStage, Unstored
from processors.sealing import group_log_states, key_partition, log_state_key
from processors.validate import Validator
from schemas.envelope import dumps_encoded_pack
from schemas.heads import head_leaf, parse_heads
from schemas.log_entries import REDELIVERED, SEALED
from streams.simulator import simulate

PARTITIONS = 2
PACK = 100  # entries per trace.chain message
# Eviction off: these tests read every state from the table (tests/unit/processors/test_eviction.py evicts).
SETTINGS = Settings(partitions=PARTITIONS, log_origin="test.example/log", evict_after_days=0)
LOG_KEYS = {log_state_key(p, PARTITIONS) for p in range(PARTITIONS)}


@pytest.fixture(autouse=True)
def no_malloc_trim(monkeypatch: pytest.MonkeyPatch) -> None:
    """glibc is found by running ldconfig, a process: not in a unit test (tests/unit/processors/runtime has heap's)."""
    monkeypatch.setattr(heap, "release_freed_memory", lambda: None)


@pytest.fixture(scope="module")
def packs() -> dict[int, list[bytes]]:
    return simulated_packs()


def simulated_packs() -> dict[int, list[bytes]]:
    """Partition -> its trace.chain messages (in offset order), as ingest packs 2,000 simulator events."""
    events = list(simulate(2000, seed=7))
    records = [
        ConsumerRecord(e.topic, 0, i, e.timestamp_ms, 0, e.key, e.value, None, 0, 0, []) for i, e in enumerate(events)
    ]
    ingested = ingest_batch(Validator(), EventIdIndex(None), records, PARTITIONS)
    return {
        p: [dumps_encoded_pack(entries[i : i + PACK]) for i in range(0, len(entries), PACK)]
        for p, entries in sorted(ingested.packs.items())
    }


class Journal(list[tuple[Any, ...]]):
    """Everything the stage stored, sent or acked, in order."""

    def kinds(self) -> list[str]:
        return [e[0] for e in self]

    def first(self, kind: str) -> int:
        return self.kinds().index(kind)

    def last(self, kind: str) -> int:
        return len(self) - 1 - self.kinds()[::-1].index(kind)


@dataclass
class Message:
    partition: int
    offset: int
    value: bytes
    timestamp: float = 1_700_000_000.0  # faust gives seconds
    refs: int = 0

    def incref(self) -> None:
        self.refs += 1


@dataclass
class Event:
    message: Message
    journal: Journal

    def ack(self) -> None:
        self.journal.append(("ack", self.message.partition, self.message.offset))


class DictTable(dict[bytes, Any]):
    """The entities table: ``get`` is dict.get; writes are journaled."""

    def __init__(self, journal: Journal, contents: Mapping[bytes, Any] | None = None) -> None:
        super().__init__(contents or {})
        self.journal = journal

    def store(self, key: bytes, value: Any, carrier: Any) -> None:
        assert carrier.message.partition == key_partition(key, PARTITIONS), "filed under another partition"
        self[key] = value
        self.journal.append(("table", key))

    def changelogged(self, partition: int, offset: int) -> None:
        self.journal.append(("changelogged", partition, offset))


class RecordingSink:
    """Rows encoded as MsgPack dicts (the real sink encodes to ClickHouse's column types); ``fail`` makes writes
    raise as a ClickHouse that is down would (the worker's writer retries and then exits: it never returns)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.fail = False
        self.stored: dict[str, list[bytes]] = defaultdict(list)
        self.resume_gate: asyncio.Event | None = None  # set: reads to resume a log wait for it

    def blocks(self, batch: SinkBatch) -> Blocks:
        blocks = Blocks()
        for table, rows in batch.rows.items():
            blocks.tables[table].extend(msgspec.msgpack.encode(row) for row in rows)
        for table, encoded in batch.encoded.items():
            blocks.tables[table].extend(encoded)
        return blocks

    async def write(self, batch: SinkBatch | Blocks) -> None:
        blocks = batch if isinstance(batch, Blocks) else self.blocks(batch)
        if not len(blocks):
            return
        if self.fail:
            raise ConnectionError("ClickHouse is down")
        for table, rows in blocks.tables.items():
            self.stored[table].extend(rows)
        self.journal.append(("sink", tuple(sorted(t for t, rows in blocks.tables.items() if rows))))

    def rows(self, table: str) -> list[dict[str, Any]]:
        return [msgspec.msgpack.decode(r) for r in self.stored[table]]

    async def stored_log(self, log_id: str, size: int) -> tuple[LastCheckpoint | None, list[bytes], Heads]:
        """What ClickHouse gives back to resume signing: the last checkpoint, the leaves after it, the heads."""
        if self.resume_gate is not None:
            await self.resume_gate.wait()
        rows = {r["log_index"]: r for r in self.rows("log_entries") if r["log_id"] == log_id}
        signed = [r for r in self.rows("checkpoints") if r["log_id"] == log_id]
        last = None
        if signed:
            row = max(signed, key=lambda r: r["size"])
            last = StoredCheckpoint(log_id, row["size"], row["root"], row["note"], tuple(row["compact_range"])).last()
        start = last.size if last else 0
        heads = Heads()
        for i in range(start):
            heads.observe_entry(rows[i]["entry"])
        heads.commit()
        for i in range(start, size):
            heads.observe_entry(rows[i]["entry"])
        return last, [bytes.fromhex(rows[i]["leaf_hash"]) for i in range(start, size)], heads


@dataclass
class Changelog:
    journal: Journal
    records: dict[int, list[tuple[bytes, bytes]]] = field(default_factory=lambda: defaultdict(list))

    async def __call__(self, by_partition: Mapping[int, list[tuple[bytes, bytes]]]) -> dict[int, int]:
        lasts = {}
        for partition, records in by_partition.items():
            self.records[partition].extend(records)
            lasts[partition] = len(self.records[partition]) - 1
        self.journal.append(("changelog", {p: len(r) for p, r in by_partition.items()}))
        return lasts


@dataclass
class Worker:
    """One worker's seal stage over a table that outlives it (as the changelog does)."""

    stage: SealStage
    table: DictTable
    sink: RecordingSink
    changelog: Changelog
    journal: Journal
    checkpointer: Checkpointer
    unstored: Unstored = field(default_factory=Unstored)

    def events(self, messages: list[Message]) -> list[Event]:
        return [Event(m, self.journal) for m in messages]

    def compute(self, messages: list[Message]) -> Sealed:
        sealed = asyncio.run(self.stage.compute(self.events(messages), self.unstored))
        self.unstored.add(sealed)
        return sealed

    def store(self, *group: Sealed) -> None:
        """Store the group; then, as the worker's timer does, let the logs' resumes finish and sign what is due."""

        async def store_and_sign() -> None:
            await self.stage.store(list(group), self.unstored)
            await self.stage.signing.wait_resumed()
            await self.stage.signing.publish_due()

        asyncio.run(store_and_sign())

    def seal(self, messages: list[Message]) -> Sealed:
        sealed = self.compute(messages)
        encoded = Blocks.joined([sealed.blocks])  # what was stored (store frees the batch's blocks)
        self.store(sealed)
        sealed.blocks = encoded
        return sealed


def worker(
    table: Mapping[bytes, Any] | None = None,
    clickhouse: RecordingSink | None = None,
    sign_every: int = 10**9,
    settings: Settings = SETTINGS,
) -> Worker:
    """A worker (re)started on what the changelog gave back (``table``) and what ClickHouse holds (``clickhouse``)."""
    journal = Journal()
    sink = RecordingSink(journal)
    if clickhouse is not None:
        sink.stored = clickhouse.stored
    changelog = Changelog(journal)
    checkpointer = Checkpointer([generate_signer("test.example/log")], sign_every, seconds=10**9)

    async def publish(log_id: str, note: str) -> None:
        journal.append(("checkpoint published", log_id))

    async def deliver(delivery: dict[str, Any]) -> None:
        journal.append(("delivery", delivery["entity_id"]))

    signing = LogSigning(checkpointer, sink.stored_log, sink.write, publish, clock_ms=lambda: 0)
    dict_table = DictTable(journal, table or {})
    stage = SealStage(settings, dict_table, sink, signing, changelog, deliver)
    return Worker(stage, dict_table, sink, changelog, journal, checkpointer)


def messages(packs: dict[int, list[bytes]], start: int = 0, end: int | None = None) -> list[Message]:
    """Messages ``start:end`` of every partition, partitions interleaved as a stream hands them over."""
    chosen = {p: list(enumerate(values))[start:end] for p, values in packs.items()}
    out = []
    for i in range(max(len(c) for c in chosen.values())):
        for p, c in chosen.items():
            if i < len(c):
                offset, value = c[i]
                out.append(Message(p, offset, value))
    return out


def decoded(changelog: Changelog, prefix: Mapping[int, int] | None = None) -> dict[bytes, Any]:
    """The table a restarted worker recovers from the changelog (each partition's first ``prefix[p]`` records)."""
    table = {}
    for partition, records in changelog.records.items():
        for key, value in records[: None if prefix is None else prefix[partition]]:
            table[key] = msgspec.json.decode(value)
    return table


def entity_states(table: Mapping[bytes, Any]) -> dict[bytes, Any]:
    return {k: table_codec.copy(v) for k, v in table.items() if k not in LOG_KEYS}


def as_read_back(table: Mapping[bytes, Any]) -> dict[bytes, Any]:
    """Every value (entity and log states) as a restarted worker would read it."""
    return {k: table_codec.copy(v) for k, v in table.items()}


def rows_of(blocks: Blocks, table: str) -> list[dict[str, Any]]:
    return [msgspec.msgpack.decode(r) for r in blocks.tables.get(table, [])]


def by_item(rows: list[dict[str, Any]]) -> dict[tuple[bytes, str], dict[str, Any]]:
    """Sealed rows by (entity key in the table, event id)."""
    return {(f"{r['entity_type']}:{r['entity_id']}".encode(), r["event_id"]): r for r in rows}


def test_rows_go_before_the_states_that_say_they_are_stored_and_the_offsets_are_acked_last(packs) -> None:
    w = worker(sign_every=1)
    w.seal(messages(packs, end=2))  # the checkpointer follows the logs from their first batch on
    w.journal.clear()
    before = {p: len(r) for p, r in w.changelog.records.items()}
    sealed = w.seal(messages(packs, start=2))
    kinds = w.journal.kinds()
    assert kinds[0] == "sink" and {"sealed", "log_entries", "events"} <= set(w.journal[0][1])  # one insert, all rows
    puts = [key for kind, key, *_ in w.journal if kind == "table"]
    assert set(puts[:PARTITIONS]) == LOG_KEYS and not LOG_KEYS & set(puts[PARTITIONS:])  # log states first
    assert w.journal.last("table") < w.journal.first("changelog")
    assert w.journal.first("changelog") < w.journal.first("changelogged")  # only what the broker acknowledged
    assert w.journal.last("changelogged") < w.journal.first("delivery")  # a report only of a stored delivery
    assert w.journal.last("delivery") < kinds.index("sink", 1) < w.journal.first("checkpoint published")
    assert w.journal[kinds.index("sink", 1)][1] == ("checkpoints",)  # signed only over stored entries
    assert w.journal.last("checkpoint published") < w.journal.first("ack")
    assert kinds[w.journal.first("ack") :] == ["ack"] * len(sealed.events)  # everything acked, at the very end
    assert sorted(w.changelog.records) == list(range(PARTITIONS))
    for partition, records in w.changelog.records.items():  # the changelog in the order sealing relies on
        records = records[before[partition] :]
        assert records[0][0] == log_state_key(partition, PARTITIONS)
        assert len(records) == len({k for k, _ in records})  # one record per key and group


def test_a_failed_insert_marks_nothing_stored_and_the_batch_seals_again_to_the_same_rows(packs) -> None:
    w = worker(sign_every=1)
    first = w.compute(messages(packs, end=6))
    encoded = Blocks.joined([first.blocks])
    w.sink.fail = True
    with pytest.raises(ConnectionError):
        w.store(first)
    assert w.journal == [] and w.table == {} and not w.changelog.records  # no state, no ack, no report
    assert w.checkpointer.logs == {}  # and nothing signed
    assert w.unstored.working and w.unstored.working == first.working  # later batches still read its states
    again = worker(w.table).seal(messages(packs, end=6))  # the next worker, from what was stored: nothing
    assert again.blocks.tables == encoded.tables  # byte for byte: the insert's token makes a retry a no-op


def test_a_crash_in_the_middle_of_the_changelog_is_caught_up_with_the_original_log_indexes(packs) -> None:
    w = worker()
    w.seal(messages(packs, end=5))
    before = {p: len(r) for p, r in w.changelog.records.items()}
    second = w.seal(messages(packs, start=5))
    crashed_table = decoded(w.changelog, {p: before[p] + 1 + 20 for p in before})  # log states + 20 entities each
    missing = set(entity_states(w.table)) - set(crashed_table) | {
        k for k, v in entity_states(crashed_table).items() if v != entity_states(w.table)[k]
    }
    assert missing  # some entities of the second batch have no state stored

    restarted = worker(crashed_table, w.sink)
    replay = restarted.seal(messages(packs, start=5))  # its offsets were not committed
    assert rows_of(replay.blocks, "log_entries") == []  # every entry of the batch is logged already
    original = by_item(rows_of(second.blocks, "sealed"))
    again = by_item(rows_of(replay.blocks, "sealed"))
    assert {entity for entity, _ in again} == missing  # the entities that lacked an item, and only those
    assert all(row == original[item] for item, row in again.items())  # same chain hash, log index, everything
    assert as_read_back(restarted.table) == as_read_back(w.table)  # entity states and log states alike


def test_a_message_replayed_after_its_batch_was_stored_is_recognised_and_changes_nothing(packs) -> None:
    w = worker()
    w.seal(messages(packs))
    stored = decoded(w.changelog)
    replay = worker(stored, w.sink)
    sealed = replay.seal(messages(packs))  # stored, but crashed before its offsets were committed
    assert rows_of(sealed.blocks, "sealed") == rows_of(sealed.blocks, "log_entries") == []
    assert sealed.deliveries == []  # no second report
    assert as_read_back(replay.table) == stored  # every state (and log state) stored again as it was


def test_an_item_sent_again_in_a_new_message_is_logged_as_redelivered_and_no_chain_moves(packs) -> None:
    w = worker()
    first = w.seal(messages(packs, end=4))
    size = {p: log.size for p, log in first.logs.items()}
    states = entity_states(w.table)
    # ingest crashed before its commit and packed the same events again: new trace.chain offsets, same sources
    again = w.seal(_resent(packs, 4))
    assert rows_of(again.blocks, "sealed") == [] and again.deliveries == []
    entries = rows_of(again.blocks, "log_entries")
    assert entries and {r["kind"] for r in entries} == {REDELIVERED}
    assert {p: log.size - size[p] for p, log in again.logs.items()} == Counter(
        int(r["log_id"].rsplit("/", 1)[1]) for r in entries
    )
    assert entity_states(w.table) == states  # no chain head, no applied offset moved


def _resent(packs: dict[int, list[bytes]], count: int) -> list[Message]:
    """The first ``count`` packs of every partition again, at the offsets after them."""
    return [Message(m.partition, m.offset + count, m.value) for m in messages(packs, end=count)]


def test_a_batch_sealed_before_the_one_before_is_stored_reads_its_states_from_unstored(packs) -> None:
    one_by_one = worker()
    one_by_one.seal(messages(packs, end=5))
    expected = one_by_one.seal(messages(packs, start=5))

    w = worker()
    first = w.compute(messages(packs, end=5))
    second = w.compute(messages(packs, start=5))  # the first is not stored: its states are in unstored only
    assert w.table == {}
    assert second.blocks.tables == expected.blocks.tables  # as if the first had been stored
    both = set(first.working) & set(second.working)
    assert both and set(first.working) - both
    w.store(first)
    assert set(w.unstored.working) == set(second.working)  # the first's dropped, unless the second replaced them
    assert all(w.unstored.working[e] is second.working[e] for e in both)
    assert w.unstored.logs == second.logs
    w.store(second)
    assert w.unstored.working == {} and w.unstored.logs == {}


def test_a_group_is_stored_as_one_bigger_batch_would_be(packs) -> None:
    one_by_one = worker()
    one_by_one.seal(messages(packs, end=5))
    one_by_one.seal(messages(packs, start=5))

    w = worker()
    first = w.compute(messages(packs, end=5))
    second = w.compute(messages(packs, start=5))
    newest = Newest([first, second])
    assert {e: s for e, (s, _) in newest.states.items()} == {**first.working, **second.working}
    assert {p: s for p, (s, _) in newest.logs.items()} == group_log_states([first.logs, second.logs])
    w.store(first, second)
    assert w.journal.kinds().count("sink") == 1 and w.journal.kinds().count("changelog") == 1
    assert entity_states(w.table) == entity_states(one_by_one.table)
    assert entity_states(decoded(w.changelog)) == entity_states(decoded(one_by_one.changelog))
    for key in LOG_KEYS:  # the same log; the group's batch map knows the messages of both batches (sealing.py)
        group_log, last_log = decoded(w.changelog)[key], decoded(one_by_one.changelog)[key]
        assert {**group_log, "batch": None} == {**last_log, "batch": None}
        assert group_log["batch"].items() >= last_log["batch"].items()
    for table in ("sealed", "log_entries", "events", "carbon"):
        assert sorted(w.sink.stored[table]) == sorted(one_by_one.sink.stored[table])
    stored_keys = [k for records in w.changelog.records.values() for k, _ in records]
    assert len(stored_keys) == len(set(stored_keys))  # one changelog record per entity: its newest state


def test_every_item_is_sealed_once_on_an_unbroken_chain_across_batches(packs) -> None:
    w = worker()
    sealed_rows = []
    for start in range(0, max(len(v) for v in packs.values()), 3):
        sealed_rows += rows_of(w.seal(messages(packs, start=start, end=start + 3)).blocks, "sealed")
    items = Counter((r["entity_id"], r["event_id"]) for r in sealed_rows)
    assert items and max(items.values()) == 1
    indexes: dict[str, list[int]] = defaultdict(list)
    for r in sealed_rows:
        indexes[r["log_id"]].append(r["log_index"])
    entries = w.sink.rows("log_entries")
    assert {r["kind"] for r in entries} == {SEALED}
    for seen in indexes.values():
        assert sorted(seen) == list(range(len(seen)))  # every log index once, in a log with no hole


def test_the_tiles_each_batch_completes_are_stored_with_its_entries(packs) -> None:
    w = worker()
    for start in range(0, max(len(v) for v in packs.values()), 3):
        w.seal(messages(packs, start=start, end=start + 3))
    stored_tiles = 0
    for log_id in sorted({r["log_id"] for r in w.sink.rows("log_entries")}):
        entries = sorted((r["log_index"], r["entry"]) for r in w.sink.rows("log_entries") if r["log_id"] == log_id)
        completed: list[tuple[int, int, bytes]] = []
        CompactTree().extend([leaf_hash(entry) for _, entry in entries], completed)
        tiles = [(r["height"], r["tile_index"], r["hash"]) for r in w.sink.rows("log_tiles") if r["log_id"] == log_id]
        assert sorted(tiles) == sorted((height, index, h.hex()) for height, index, h in completed)
        assert len(tiles) == len(entries) // 256
        stored_tiles += len(tiles)
    assert stored_tiles >= 2


def reference_heads(entries: list[bytes]) -> tuple[int, bytes]:
    """(count, root) of the heads of ``entries``, computed from the definition in one go (schemas/heads.py)."""
    newest: dict[str, tuple[int, str]] = {}  # insertion order: first appearance
    for entry in entries:
        obj = msgspec.json.decode(entry)
        if obj["kind"] == SEALED:
            newest[f"{obj['entity_type']}:{obj['entity_id']}"] = (obj["seq"], obj["chain_hash"])
    return len(newest), root_hash([leaf_hash(head_leaf(e, n, h)) for e, (n, h) in newest.items()])


def test_every_checkpoint_commits_to_the_heads_of_its_entries_also_after_a_restart(packs) -> None:
    w = worker(sign_every=1)
    w.seal(messages(packs, end=4))
    w.seal(messages(packs, start=4, end=8))
    restarted = worker(decoded(w.changelog), w.sink, sign_every=1)  # resumes each log's heads from the store
    restarted.seal(messages(packs, start=8))
    entries: dict[str, dict[int, bytes]] = defaultdict(dict)
    for row in w.sink.rows("log_entries"):
        entries[row["log_id"]][row["log_index"]] = row["entry"]
    checkpoints = w.sink.rows("checkpoints")
    assert {r["log_id"] for r in checkpoints} == set(entries) and len(checkpoints) >= 3 * len(entries)
    for row in checkpoints:
        cp = Checkpoint.parse(row["note"].split("\n\n")[0] + "\n")
        log = entries[row["log_id"]]
        assert parse_heads(cp.extensions) == reference_heads([log[i] for i in range(cp.size)]), row["size"]


def test_a_batch_stored_while_its_log_is_resumed_is_acked_before_the_resume_ends_and_signed_after_it(packs) -> None:
    w = worker(sign_every=1)
    w.seal(messages(packs, end=4))
    signed = {r["log_id"]: r for r in sorted(w.sink.rows("checkpoints"), key=lambda r: r["size"])}  # newest per log
    restarted = worker(decoded(w.changelog), w.sink, sign_every=1)
    restarted.sink.resume_gate = gate = asyncio.Event()  # reading a long log back takes seconds
    stage, signing = restarted.stage, restarted.stage.signing
    later = [messages(packs, start=4, end=6), messages(packs, start=6)]

    async def scenario() -> None:
        for batch in later:
            sealed = await stage.compute(restarted.events(batch), restarted.unstored)
            restarted.unstored.add(sealed)
            await asyncio.wait_for(stage.store([sealed], restarted.unstored), 5)
        assert restarted.journal.kinds().count("ack") == sum(len(batch) for batch in later)  # every batch acked
        assert signing.resuming == set(signed) and "checkpoint published" not in restarted.journal.kinds()
        gate.set()
        await signing.wait_resumed()
        await signing.publish_due()

    asyncio.run(scenario())
    entries: dict[str, dict[int, bytes]] = defaultdict(dict)
    for row in w.sink.rows("log_entries"):
        entries[row["log_id"]][row["log_index"]] = row["entry"]
    for log_id, last in signed.items():
        newest = max((r for r in w.sink.rows("checkpoints") if r["log_id"] == log_id), key=lambda r: r["size"])
        log = [entries[log_id][i] for i in range(len(entries[log_id]))]
        assert newest["size"] == len(log) > last["size"]
        proof = consistency_proof([leaf_hash(e) for e in log], last["size"])
        old_root, new_root = bytes.fromhex(last["root"]), bytes.fromhex(newest["root"])
        assert verify_consistency(last["size"], newest["size"], proof, old_root, new_root)
        note = Checkpoint.parse(newest["note"].split("\n\n")[0] + "\n")
        assert parse_heads(note.extensions) == reference_heads(log)
