"""Eviction in the seal stage: finished entities leave the table as tombstones and come back, rebuilt from what the
store holds, when an event touches them again, with the chain going on exactly as if they had never left.

The store here is the recording sink of test_seal_stage (the rows the worker wrote, as ClickHouse would hold them);
the integration test (tests/integration/processors/test_eviction_on_pipeline.py) reads them from chDB.
"""

from __future__ import annotations

import itertools
from typing import Any

import msgspec
import pytest
from test_seal_stage import LOG_KEYS, PARTITIONS, Message, RecordingSink, Worker, messages, simulated_packs, worker

from battrace.domain.finished import EvictedStateMismatch, is_tombstone
from battrace.settings import Settings
from battrace.store.tables import COLUMNS
from processors import table_codec
from processors.delivered_watch import WATCH_FIELD, watch_key
from processors.evicted import SealedEvent, rebuild
from processors.runtime import heap
from schemas.log_entries import REDELIVERED


@pytest.fixture(scope="module", name="packs")
def simulator_packs() -> dict[int, list[bytes]]:
    return simulated_packs()


@pytest.fixture(autouse=True)
def no_malloc_trim(monkeypatch: pytest.MonkeyPatch) -> None:
    """glibc is found by running ldconfig, a process: not in a unit test."""
    monkeypatch.setattr(heap, "release_freed_memory", lambda: None)


EVICTING = Settings(partitions=PARTITIONS, log_origin="test.example/log", evict_after_days=1)
KEEPING = Settings(partitions=PARTITIONS, log_origin="test.example/log", evict_after_days=0)
SERVICED_AFTER_DISMANTLING = "battery:CH2PBQB2000001T150000028"  # the simulator's story (seed 7) has one
DELIVERED = "shipment:CONS-000001"


class StoredChains:
    """processors.evicted.EvictedStates over the recording sink: the same rebuild, the rows the worker stored."""

    def __init__(self, sink: RecordingSink) -> None:
        self.sink = sink
        self.read: list[str] = []

    def events(self) -> dict[str, dict[str, Any]]:
        columns = COLUMNS["events"]
        header = msgspec.msgpack.encode([None] * len(columns))[: -len(columns)]  # rows are stored without one
        rows = (dict(zip(columns, msgspec.msgpack.decode(header + r), strict=True)) for r in self.sink.stored["events"])
        return {row["event_id"]: row for row in rows}

    def read_back(self, entity: str, stone: dict[str, Any]) -> dict[str, Any]:
        self.read.append(entity)
        events = self.events()
        kind, ident = entity.split(":", 1)
        sealed = {r["seq"]: r for r in self.sink.rows("sealed") if (r["entity_type"], r["entity_id"]) == (kind, ident)}
        chain = []
        for seq in sorted(s for s in sealed if s <= stone["seq"]):
            row, ev = sealed[seq], events[sealed[seq]["event_id"]]
            source = (ev["source_topic"], ev["source_partition"], ev["source_offset"])
            chain.append(SealedEvent(seq, ev["canonical"], row["log_id"], row["log_index"], row["sealed_at"], source))
        return rebuild(entity, stone, chain)


def evicting_worker() -> tuple[Worker, StoredChains]:
    w = worker(settings=EVICTING)
    chains = StoredChains(w.sink)
    w.stage.evicted = chains
    return w, chains


def seal_one_by_one(w: Worker, packs: dict[int, list[bytes]]) -> None:
    """One batch per message: states are stored (and evicted) between the events of a story."""
    for message in messages(packs):
        w.seal([message])


WATCH_KEYS = {watch_key(p, PARTITIONS) for p in range(PARTITIONS)}


def entity_values(w: Worker) -> dict[bytes, Any]:
    return {k: table_codec.copy(v) for k, v in w.table.items() if k not in LOG_KEYS | WATCH_KEYS}


@pytest.fixture(scope="module")
def runs(packs) -> tuple[Worker, StoredChains, Worker]:
    """The same messages sealed with and without eviction."""
    with pytest.MonkeyPatch.context() as patch:  # module-scoped: no_malloc_trim (function-scoped) comes later
        patch.setattr(heap, "release_freed_memory", lambda: None)
        evicting, chains = evicting_worker()
        seal_one_by_one(evicting, packs)
        keeping = worker(settings=KEEPING)
        seal_one_by_one(keeping, packs)
    return evicting, chains, keeping


def test_finished_entities_are_tombstones_and_the_rest_are_the_same_states(runs) -> None:
    evicting, _, keeping = runs
    evicted, kept = entity_values(evicting), entity_values(keeping)
    assert evicted.keys() == kept.keys()  # a tombstone is never a missing key
    stones = {k.decode() for k, v in evicted.items() if is_tombstone(v)}
    assert SERVICED_AFTER_DISMANTLING in stones and DELIVERED in stones
    assert all(kept[k.encode()]["lifecycle"]["destroyed"] for k in stones if k.startswith("battery:"))
    for key, value in evicted.items():
        if is_tombstone(value):
            full = kept[key]
            assert {k: value[k] for k in ("seq", "head", "applied")} == {k: full[k] for k in ("seq", "head", "applied")}
            assert len(table_codec.encode(value)) < len(table_codec.encode(full))
        else:
            assert value == kept[key]
    print(f"\ntable entries: {len(stones)} tombstones, {len(evicted) - len(stones)} full states")


def watched(w: Worker) -> set[str]:
    """The consignments the table's watch lists hold."""
    lists = (w.table.get(key) or {WATCH_FIELD: {}} for key in WATCH_KEYS)
    return {entity for watch in lists for entity in watch[WATCH_FIELD]}


def test_a_consignment_delivered_before_a_restart_leaves_the_table_as_if_the_worker_had_never_stopped(
    runs, packs
) -> None:
    evicting, _, _ = runs
    story = iter(messages(packs))
    before = evicting_worker()[0]
    for message in story:  # the worker stops as soon as it watches a delivered consignment
        before.seal([message])
        if watched(before):
            break
    waiting = watched(before)
    assert waiting  # delivered, not past the horizon yet

    after = worker(table=before.table, clickhouse=before.sink, settings=EVICTING)  # a new process: nothing in memory
    after.stage.evicted = StoredChains(after.sink)
    after.stage.recovered(range(PARTITIONS))  # the table recovered: the watch lists come back with it
    for message in story:
        after.seal([message])
    assert entity_values(after) == entity_values(evicting)
    assert all(is_tombstone(entity_values(after)[entity.encode()]) for entity in waiting)  # they left on time


def test_an_evicted_battery_touched_again_is_read_back_and_its_chain_goes_on_with_the_same_rows(runs) -> None:
    evicting, chains, keeping = runs
    assert SERVICED_AFTER_DISMANTLING in chains.read  # its Serviced came after its tombstone was stored
    # every row the worker stores is the same with and without eviction: chain hashes, log indexes, flags, carbon
    for table in ("sealed", "log_entries", "events", "flags", "carbon", "batteries", "shipments", "lots"):
        assert evicting.sink.stored[table] == keeping.sink.stored[table], table
    _, ident = SERVICED_AFTER_DISMANTLING.split(":")
    chain = sorted((r for r in evicting.sink.rows("sealed") if r["entity_id"] == ident), key=lambda r: r["seq"])
    assert [r["seq"] for r in chain] == list(range(1, len(chain) + 1))  # gapless
    assert all(b["prev_hash"] == a["chain_hash"] for a, b in itertools.pairwise(chain))


def test_a_tombstone_rebuilt_from_the_store_equals_the_state_it_replaced(runs) -> None:
    evicting, _, keeping = runs
    chains = StoredChains(evicting.sink)
    stones = {k: v for k, v in entity_values(evicting).items() if is_tombstone(v)}
    assert stones
    for key, stone in stones.items():
        assert chains.read_back(key.decode(), stone) == entity_values(keeping)[key]


def test_a_redelivered_item_of_an_evicted_entity_is_recognised_and_seals_nothing(packs) -> None:
    w, chains = evicting_worker()
    w.seal(messages(packs))
    before = entity_values(w)
    assert any(is_tombstone(v) for v in before.values())
    # ingest packed every event again: new trace.chain offsets, same source coordinates
    again = w.seal([Message(m.partition, m.offset + len(packs[m.partition]), m.value) for m in messages(packs)])
    sealed = [msgspec.msgpack.decode(r) for r in again.blocks.tables.get("sealed", [])]
    entries = [msgspec.msgpack.decode(r) for r in again.blocks.tables.get("log_entries", [])]
    assert sealed == [] and entries and {r["kind"] for r in entries} == {REDELIVERED}
    assert {k.decode() for k, v in before.items() if is_tombstone(v)} <= set(chains.read)  # read back, then skipped
    assert entity_values(w) == before


def test_a_store_that_lacks_an_evicted_entitys_last_row_stops_sealing_naming_it(runs) -> None:
    evicting, _, _ = runs
    stone = table_codec.copy(evicting.table[SERVICED_AFTER_DISMANTLING.encode()])
    sink = RecordingSink(evicting.journal)
    _, ident = SERVICED_AFTER_DISMANTLING.split(":")
    last = max((r for r in evicting.sink.rows("sealed") if r["entity_id"] == ident), key=lambda r: r["seq"])
    sink.stored.update(evicting.sink.stored)
    sink.stored["sealed"] = [r for r in evicting.sink.stored["sealed"] if msgspec.msgpack.decode(r) != last]
    with pytest.raises(EvictedStateMismatch, match=f"{SERVICED_AFTER_DISMANTLING}: .* has seq {stone['seq'] - 1}"):
        StoredChains(sink).read_back(SERVICED_AFTER_DISMANTLING, stone)
