"""The seal stage's group commit: order, grouping while the writer is busy, a bound on what waits, nothing left."""

from __future__ import annotations

import asyncio

import pytest

from processors.group_commit import GroupCommit


class GatedStore:
    """A store that holds each call until the test opens its gate."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.gate = asyncio.Event()
        self.calls = 0

    async def __call__(self, group: list[int]) -> None:
        self.calls += 1
        await self.gate.wait()
        self.groups.append(list(group))


async def _turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def test_items_queued_while_a_group_is_stored_form_the_next_group() -> None:
    async def scenario() -> list[list[int]]:
        store = GatedStore()
        writer = GroupCommit(store, max_queued=8)
        await writer.submit(1)
        await _turns()
        assert store.calls == 1  # the writer started on [1] at once
        for item in (2, 3, 4):
            await writer.submit(item)
        assert writer.queued == 3
        store.gate.set()
        await writer.flush()
        return store.groups

    assert asyncio.run(scenario()) == [[1], [2, 3, 4]]


def test_a_writer_that_keeps_up_stores_every_item_on_its_own() -> None:
    async def scenario() -> list[list[int]]:
        store = GatedStore()
        store.gate.set()
        writer = GroupCommit(store, max_queued=8)
        for item in range(5):
            await writer.submit(item)
            await _turns()
        await writer.flush()
        return store.groups

    assert asyncio.run(scenario()) == [[0], [1], [2], [3], [4]]


def test_submit_waits_while_max_queued_items_wait_and_resumes_when_the_writer_takes_them() -> None:
    async def scenario() -> None:
        store = GatedStore()
        writer = GroupCommit(store, max_queued=2)
        await writer.submit(1)
        await _turns()
        await writer.submit(2)
        await writer.submit(3)
        third = asyncio.ensure_future(writer.submit(4))
        await _turns()
        assert not third.done()  # two wait already: the third waits for room
        assert writer.queued == 2
        store.gate.set()  # [1] is stored, the writer takes [2, 3]: room again
        await asyncio.wait_for(third, 1)
        await writer.flush()
        assert store.groups == [[1], [2, 3], [4]]

    asyncio.run(scenario())


def test_the_last_items_are_stored_without_a_later_submit() -> None:
    async def scenario() -> list[list[int]]:
        store = GatedStore()
        writer = GroupCommit(store, max_queued=4)
        await writer.submit(1)
        await _turns()
        await writer.submit(2)  # queued behind [1]; nothing is submitted after it
        store.gate.set()
        await asyncio.wait_for(writer.flush(), 1)
        return store.groups

    assert asyncio.run(scenario()) == [[1], [2]]


def test_flush_raises_what_the_store_raised() -> None:
    async def failing(group: list[int]) -> None:
        raise RuntimeError(f"ClickHouse refused {group}")

    async def scenario() -> None:
        writer = GroupCommit(failing, max_queued=1)
        await writer.submit(1)
        await writer.flush()

    with pytest.raises(RuntimeError, match=r"refused \[1\]"):
        asyncio.run(scenario())


def test_max_queued_must_leave_room_for_one_item() -> None:
    async def store(group: list[int]) -> None:
        return None

    with pytest.raises(ValueError, match="at least 1"):
        GroupCommit(store, max_queued=0)
