"""The faust fixes (processors/runtime/faust_patches.py): no commit past an unprocessed offset, no queue cleared under a
flowing stream, no crawl on duplicate acks."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.tables.manager import TableManager
from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from intervaltree import IntervalTree
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from processors.runtime import faust_patches
from processors.runtime.faust_patches import _new_offset

TP = ("trace.chain", 0)
FAUST_TABLES_ON_START = TableManager.on_start  # faust's own: collected before any test applies the patches


def consumer(acked: list[int], committed: int, gaps: list[tuple[int, int]] = ()) -> SimpleNamespace:
    gap = defaultdict(IntervalTree)
    for begin, end in gaps:
        gap[TP].addi(begin, end)
    return SimpleNamespace(
        _acked=defaultdict(list, {TP: list(acked)}),
        _gap=gap,
        _committed_offset=defaultdict(lambda: None, {TP: committed}),
        _acked_index=defaultdict(set, {TP: set(acked)}),
    )


def test_a_gap_interval_ending_on_an_acked_message_does_not_stall_the_commit() -> None:
    # 10 and 13..15 were processed; faust recorded 11..13 as a gap (its intervals end on a real message)
    c = consumer([10, 13, 14, 15], committed=10, gaps=[(11, 14)])
    assert _new_offset(c, TP) == 16  # every offset up to 15 is done: commit 16 (faust 0.15 alone: 14)
    assert c._acked[TP] == [] and c._gap[TP] == IntervalTree()


def test_duplicate_acks_count_once() -> None:
    c = consumer([10, 11, 11, 12, 12, 13], committed=10)
    assert _new_offset(c, TP) == 14


def test_a_real_hole_still_holds_the_commit_back() -> None:
    c = consumer([10, 11, 13], committed=10)
    assert _new_offset(c, TP) == 12  # 12 was never acked: commit up to it, no further
    assert _new_offset(c, TP) is None  # ... and 13 waits for 12


def test_a_hole_of_one_offset_holds_the_commit_back() -> None:
    # 12 was committed (the next to process) but never acked; faust 0.15 alone commits 14 here, losing 12
    c = consumer([13], committed=12)
    assert _new_offset(c, TP) is None
    c = consumer([12, 13], committed=12)
    assert _new_offset(c, TP) == 14


def test_offsets_skipped_by_the_consumer_are_not_recorded_as_gaps() -> None:
    faust_patches.apply()
    c = SimpleNamespace(_gap=defaultdict(IntervalTree), _committed_offset=defaultdict(lambda: 10))
    asyncio.run(Consumer._add_gap(c, TP, 11, 13))  # faust read 10, then 14: 11..13 were dropped, not absent
    assert c._gap[TP] == IntervalTree()
    c._acked, c._acked_index = defaultdict(list, {TP: [10, 14]}), defaultdict(set, {TP: {10, 14}})
    assert _new_offset(c, TP) == 11 and _new_offset(c, TP) is None  # 11..13 hold the commit back


def test_resuming_a_flowing_stream_keeps_its_queued_messages() -> None:
    faust_patches.apply()

    async def run() -> tuple[int, int]:
        flow = FlowControlEvent()
        queue: FlowControlQueue = FlowControlQueue(flow_control=flow, clear_on_resume=True)
        flow.resume()
        await queue.put("fetched before recovery completed")
        flow.resume()  # faust's on_recovery_completed, with the stream already flowing
        kept = queue.qsize()
        flow.suspend()  # a rebalance: what is queued belongs to the old assignment
        flow.resume()
        return kept, queue.qsize()

    assert asyncio.run(run()) == (1, 0)


def test_the_table_manager_starts_recovery_without_faust_s_one_second_sleep() -> None:
    async def start(on_start: Callable[[Any], Awaitable[None]]) -> tuple[float, list[str]]:
        done: list[str] = []

        async def record(step: str) -> None:
            done.append(step)

        manager = SimpleNamespace(
            should_stop=False,
            sleep=asyncio.sleep,
            _update_channels=lambda: record("channels"),
            recovery=SimpleNamespace(start=lambda: record("recovery")),
        )
        started = time.monotonic()
        await on_start(manager)
        return time.monotonic() - started, done

    faust_took, faust_steps = asyncio.run(start(FAUST_TABLES_ON_START))
    took, steps = asyncio.run(start(faust_patches._start_tables))
    assert faust_steps == steps == ["channels", "recovery"]
    assert faust_took >= 1.0 and took < 0.2


def test_the_worker_consumer_fetches_with_the_wait_we_set_not_faust_s_fixed_1500_ms() -> None:
    async def created_wait(ms: int | None) -> int:
        if ms is not None:
            faust_patches.set_worker_fetch_max_wait(ms)
        app = faust.App("fetch-wait-test", broker="kafka://127.0.0.1:1", web_enabled=False)
        consumer = app.consumer._thread._create_worker_consumer(app.transport)  # made, never started
        try:
            return consumer._fetch_max_wait_ms
        finally:
            await consumer.stop()

    original = AIOKafkaConsumerThread._create_worker_consumer  # patched already if a test applied it
    AIOKafkaConsumerThread._create_worker_consumer = getattr(original, "faust_original", original)
    try:
        assert asyncio.run(created_wait(None)) == 1500  # faust's own
        assert asyncio.run(created_wait(200)) == 200
        assert asyncio.run(created_wait(150)) == 150  # set again: wraps faust's, not the last wrapper
    finally:
        AIOKafkaConsumerThread._create_worker_consumer = original


@pytest.mark.parametrize("version", ["0.16.0", "0.14.9", "1.15.0", "0.150.1"])
def test_the_patches_refuse_a_faust_they_were_not_written_for(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    monkeypatch.setattr(faust, "__version__", version)
    before = Consumer.__dict__["_new_offset"]
    with pytest.raises(faust_patches.UnsupportedFaust) as refused:
        faust_patches.apply()
    message = str(refused.value)
    assert "\n" not in message and version in message and "0.15" in message  # one line: installed and supported
    assert Consumer.__dict__["_new_offset"] is before  # nothing patched


@pytest.mark.parametrize("version", ["0.15.3", "0.15.10", "0.15.4rc1"])
def test_the_patches_take_any_release_of_their_minor_version(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    monkeypatch.setattr(faust, "__version__", version)
    faust_patches.check_version()


def test_a_topic_is_declared_once_per_name_however_often_faust_resubscribes(monkeypatch: pytest.MonkeyPatch) -> None:
    declared: list[tuple[str, ...]] = []

    async def record(topic: Any) -> None:  # what faust's declare would ask the broker's controller
        declared.append(tuple(topic.topics))

    monkeypatch.setattr(faust_patches, "_FAUST_DECLARE", record)
    app = faust.App("declare-once", broker="kafka://127.0.0.1:1")  # never connects: declare is recorded above
    changelog = app.topic("declare-once-changelog", internal=True)

    async def resubscribe_three_times() -> None:
        for _ in range(3):
            await faust_patches._declare_once(changelog)
        await faust_patches._declare_once(app.topic("declare-once-changelog", internal=True))  # a new object
        await faust_patches._declare_once(app.topic("declare-once-leader", internal=True))

    asyncio.run(resubscribe_three_times())
    assert declared == [("declare-once-changelog",), ("declare-once-leader",)]
