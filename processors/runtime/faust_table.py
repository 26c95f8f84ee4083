"""The seal stage's view of a faust table and producer, through the faust internals it needs.

The seal stage writes a batch's states into the table's local store and sends their changelog itself, as whole
record batches (processors/changelog.py says why); faust has no public API for either half, so the internals it
takes (the current-event context variable, the store behind the table, the persisted offset, the producer's
aiokafka client) are reached here and nowhere else.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import faust
from aiokafka import AIOKafkaProducer
from faust.streams import _current_event  # no public setter: see current()
from faust.types import TP

from processors import changelog


@contextmanager
def current(event: Any) -> Iterator[None]:
    """Make ``event`` faust's current event in this task only. (Stream._set_current_event would also set the
    stream attribute that take_events' buffer filler reads in another task, and so corrupt the next batch.)"""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


class FaustStateTable:
    """processors.seal_stage.StateTable over a faust Table."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self.get = table.get  # read for every entity a batch touches: no wrapper call in between

    @property
    def topic(self) -> str:
        """The table's changelog topic."""
        return self._table.changelog_topic.get_topic_name()

    def store(self, key: bytes, value: Any, carrier: Any) -> None:
        # A disk store files the value under the current event's partition, and take_events leaves no event
        # current in the writer's task: the carrier is a message of the key's partition.
        with current(carrier):
            self._table.data[key] = value  # the store only: the changelog is sent by the seal stage, batched

    def changelogged(self, partition: int, offset: int) -> None:
        """What a disk store has applied, for recovery (as faust records it)."""
        self._table.data.set_persisted_offset(TP(self.topic, partition), offset)


def producer(app: faust.App) -> AIOKafkaProducer:
    """faust's aiokafka producer (no public accessor)."""
    return app.producer._ensure_producer()


def changelog_writer(
    app: faust.App, table: FaustStateTable
) -> Callable[[Mapping[int, list[tuple[bytes, bytes]]]], Awaitable[dict[int, int]]]:
    """The seal stage's ChangelogWriter: ``table``'s changelog, sent on the app's producer."""

    async def write(records: Mapping[int, list[tuple[bytes, bytes]]]) -> dict[int, int]:
        return await changelog.write(producer(app), table.topic, records, round(time.time() * 1000))

    return write
