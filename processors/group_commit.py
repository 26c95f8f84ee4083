"""Group commit for the seal stage: batches are stored in order, and those sealed while a group was being stored
are stored together as the next group.

A store costs about the same whatever its size (ClickHouse: ~10 ms per insert and ~10 tables; the changelog: one
round trip), so a writer that stores batch by batch falls behind the compute and holds it up. Stored as a group,
the batches that piled up meanwhile cost one insert per table. When the writer keeps up, every batch is stored
on its own, at once (no added latency). At most ``max_queued`` batches wait for the writer; ``submit`` waits for
room beyond that, so memory stays bounded and a backlog stays in the broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupCommit(Generic[T]):
    """Calls ``store(group)`` for consecutive groups of submitted items, one call at a time, in submission order."""

    def __init__(self, store: Callable[[list[T]], Awaitable[None]], max_queued: int) -> None:
        if max_queued < 1:
            raise ValueError(f"max_queued must be at least 1, got {max_queued}")
        self._store = store
        self._max_queued = max_queued
        self._queued: list[T] = []
        self._taken = asyncio.Event()  # set whenever the writer takes the queue (room for more)
        self._writer: asyncio.Future[None] | None = None

    @property
    def queued(self) -> int:
        return len(self._queued)

    async def submit(self, item: T) -> None:
        """Queue ``item`` for the writer (starting it if idle); waits while ``max_queued`` items already wait."""
        while len(self._queued) >= self._max_queued:
            self._taken.clear()
            await self._taken.wait()
        self._queued.append(item)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        while self._queued:
            group, self._queued = self._queued, []
            self._taken.set()
            await self._store(group)

    async def flush(self) -> None:
        """Return once every item submitted so far is stored."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)
