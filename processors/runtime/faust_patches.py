"""Workarounds for faust-streaming 0.15 defects seen on this stack; each says what it fixes and how it shows.

Each of these lost or stalled trace.chain / trace.rejects messages in the SIGKILL test (a restart before the first
commit). Kafka offsets of these topics are contiguous (plain producers, no transactions, no compaction), so every
offset is a real message that must be processed before a commit passes it.

1. Messages dropped at start-up (``FlowControlEvent.resume``): when recovery completes, faust resumes the stream
   partitions, seeks them to their committed offsets and then resumes flow control, which clears every stream
   queue. Messages fetched in between are dropped; they are fetched again only if the seek moved the position,
   and aiokafka does not seek for a committed offset of 0 or none. The fix clears the queues only when flow
   control really was suspended (a rebalance), not on a resume of flowing queues.
2. A hole of one offset committed past (``Consumer._new_offset``): faust holds a commit back only when the lowest
   acked offset is more than one past the committed offset, but the committed offset is the *next* offset to
   process, so one missing message was committed past (the SIGKILL test lost a whole 500-event pack that way).
3. Real messages recorded as gaps (``Consumer._add_gap``): when the offsets reaching the consumer jump (after a
   drop), faust records the skipped offsets as a gap and later commits past them as if they did not exist. Our
   topics have no gaps, so none are recorded: a dropped message holds the commit back instead of being lost.
4. Commit crawl after a restart (``Consumer._new_offset``): faust fills gaps in a partition's acked offsets from
   its gap intervals, and those intervals end *on* a real message, so that offset is added a second time;
   ``consecutive_numbers`` then split every run at the duplicate and each commit advanced by one or two offsets.
   Duplicates are removed before looking for the first consecutive run; an offset acked twice is acked once.

5. One second of every start-up (``TableManager.on_start``): the table manager sleeps a second before it starts
   recovery, for tables an app defines after it started. The worker defines its one table before (processors/
   worker.py ``build_worker``), so the second only delayed joining the group, on every restart.

6. Messages fetched and dropped at the end of a recovery (``AIOKafkaConsumerThread._fetch_records`` and
   ``seek_to_committed``): faust hands aiokafka its live set of active partitions, and that set is empty for a moment
   when recovery pauses the changelogs before it resumes the streams; aiokafka reads an empty set as *every*
   partition and returns the records it had buffered for the paused stream partitions, which faust then skips.
   Their positions have moved past them, and the seek that follows does nothing for a partition with no committed
   offset (or 0): the first records of a partition nothing was ever committed on were lost for good (a worker
   restarted on a home whose new entity landed on a fresh partition sealed nothing of it). aiokafka now sees the
   live set, never empty, and the seek takes every stream partition without a committed offset back to its start.

7. A worker that exits when its broker restarts (``Topic.declare``): faust declares its internal topics (the table's
   changelog, the leader topic) again every time its subscription changes, which asks the broker's controller; a
   resubscription that falls in a broker outage raised NodeNotReadyError in faust's conductor, and the worker
   exited (Apache Kafka killed and restarted under a running worker). A topic this process has declared is not
   declared again.

And one setting faust does not expose, the worker consumer's ``fetch_max_wait_ms`` (hard-coded to 1,500 ms):
Tansu holds a fetch that finds no new records for the whole wait, even when records arrive meanwhile, so a pack
produced just after the seal stage's fetch waited up to 1.5 s. At 5,000 events/s offered: p50 1.59 s and p99
2.78 s with 1,500 ms; 0.89 s and 1.37 s with the seal window (200 ms), as ingest already fetched.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

import faust
from faust.tables.manager import TableManager
from faust.topics import Topic
from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.utils.functional import consecutive_numbers
from mode.utils.queues import FlowControlEvent

# The faust-streaming minor version these patches copy and fix: another minor may have moved or fixed the code they
# replace (pyproject pins faust-streaming>=0.15.3,<0.16 for the same reason).
SUPPORTED_MINOR = (0, 15)


class UnsupportedFaust(RuntimeError):
    """The installed faust is not the minor version the patches were written for."""


def _new_offset(self: Any, tp: Any) -> int | None:
    """faust's ``Consumer._new_offset`` with duplicate offsets removed and no hole passed (fixes 2 and 4)."""
    acked = self._acked[tp]
    if not acked:
        return None
    max_offset = max(acked)
    gap_for_tp = self._gap[tp]
    if gap_for_tp:
        candidates = sorted(gap_for_tp.overlap(0, max_offset), key=lambda x: x.begin)
        if candidates:
            stuff_to_add: list[int] = []
            for entry in candidates:
                stuff_to_add.extend(range(entry.begin, entry.end))
            new_max_offset = max(stuff_to_add[-1], max_offset + 1)
            acked.extend(stuff_to_add)
            gap_for_tp.chop(0, new_max_offset)
    acked[:] = sorted(set(acked))
    committed_offset = self._committed_offset[tp]
    if committed_offset is not None and min(acked) > committed_offset:
        return None  # the message at the committed offset (the next to process) is not done yet
    batch = next(consecutive_numbers(acked))
    acked[: len(batch)] = []
    self._acked_index[tp].difference_update(batch)
    return batch[-1] + 1


async def _add_gap(self: Any, tp: Any, offset_from: int, offset_to: int) -> None:
    """Record no gap: every offset of our topics is a message (fix 3)."""


def _resume(self: FlowControlEvent) -> None:
    """``FlowControlEvent.resume`` that clears the queues only after a real suspension (fix 1)."""
    was_suspended = not self.is_active()
    self._suspend.clear()
    self._resume.set()
    if was_suspended:
        self.clear()


async def _start_tables(self: TableManager) -> None:
    """``TableManager.on_start`` without its one-second sleep (fix 5)."""
    if not self.should_stop:
        await self._update_channels()
        await self.recovery.start()


class LivePartitions:
    """faust's active partitions as aiokafka's fetcher reads them (fix 6): the live set, so a partition resumed while a
    fetch waits is drained at once, but never falsy, because aiokafka takes an empty set for every partition."""

    __slots__ = ("_live",)

    def __init__(self, live: Collection[Any]) -> None:
        self._live = live

    def __contains__(self, tp: object) -> bool:
        return tp in self._live

    def __bool__(self) -> bool:
        return True


_FAUST_FETCH_RECORDS = AIOKafkaConsumerThread._fetch_records


async def _fetch_records(
    self: AIOKafkaConsumerThread,
    consumer: Any,
    active_partitions: Collection[Any] | None,
    timeout: float | None = None,
    max_records: int | None = None,
) -> Any:
    """faust's ``_fetch_records`` on the live active partitions, never read as every partition (fix 6)."""
    partitions = None if active_partitions is None else LivePartitions(active_partitions)
    return await _FAUST_FETCH_RECORDS(self, consumer, partitions, timeout=timeout, max_records=max_records)


async def seek_to_committed_or_start(consumer: Any, skip_topics: Iterable[str] = ()) -> Mapping[Any, int | None]:
    """Seek every assigned partition to its committed offset, and those without one (or at 0) to their start, which
    aiokafka's ``seek_to_committed`` leaves where they are (fix 6); ``skip_topics``: left as aiokafka leaves them (the
    changelogs, whose positions faust's recovery owns). Returns the committed offsets, as aiokafka does."""
    committed = await consumer.seek_to_committed()
    skip = set(skip_topics)
    for tp, offset in committed.items():
        if tp.topic not in skip and (offset is None or offset <= 0):
            # Offset 0, not seek_to_beginning: that waits for the fetcher to reset the position, behind a fetch in
            # flight (up to faust's 1.5 s wait on Kafka); below a topic's start, the consumer's "earliest" reset
            # takes 0 to the start.
            consumer.seek(tp, 0)
    return committed


async def _seek_to_committed(self: AIOKafkaConsumerThread) -> Mapping[Any, int | None]:
    """faust's ``seek_to_committed`` that also rewinds the stream partitions nothing was committed on (fix 6)."""
    changelogs = set(self.app.tables.changelog_topics)
    return await self.call_thread(seek_to_committed_or_start, self._ensure_consumer(), changelogs)


_FAUST_DECLARE = Topic.declare


async def _declare_once(self: Topic) -> None:
    """faust's ``Topic.declare``, once per topic name and process (fix 7)."""
    declared: set[str] = self.app.__dict__.setdefault("_battrace_declared_topics", set())
    if all(name in declared for name in self.topics):
        return
    await _FAUST_DECLARE(self)
    declared.update(self.topics)


def check_version(version: str | None = None) -> None:
    """Refuse a faust whose major.minor is not SUPPORTED_MINOR (``version``: faust.__version__ if None)."""
    installed = faust.__version__ if version is None else version
    supported = ".".join(map(str, SUPPORTED_MINOR))
    if installed.split(".")[:2] != supported.split("."):
        raise UnsupportedFaust(
            f"faust-streaming {installed} is installed, but processors/runtime/faust_patches.py supports {supported}.x"
        )


def apply() -> None:
    """Install the fixes (1-7 above) on faust's classes; for the worker process only (processors/__main__.py)."""
    check_version()
    Topic.declare = _declare_once  # type: ignore[method-assign]
    AIOKafkaConsumerThread._fetch_records = _fetch_records  # type: ignore[method-assign]
    AIOKafkaConsumerThread.seek_to_committed = _seek_to_committed  # type: ignore[method-assign]
    TableManager.on_start = _start_tables  # type: ignore[method-assign]
    Consumer._new_offset = _new_offset  # type: ignore[method-assign]
    Consumer._add_gap = _add_gap  # type: ignore[method-assign]
    FlowControlEvent.resume = _resume  # type: ignore[method-assign]


def set_worker_fetch_max_wait(ms: int) -> None:
    """The longest the broker may hold a fetch of the worker's (Faust) consumer without records, in ms."""
    current = AIOKafkaConsumerThread._create_worker_consumer
    create = getattr(current, "faust_original", current)  # wrap faust's own method, never an earlier wrapper

    def create_worker_consumer(self: AIOKafkaConsumerThread, transport: Any) -> Any:
        consumer = create(self, transport)
        consumer._fetch_max_wait_ms = ms  # read when the consumer starts (aiokafka makes its fetcher then)
        return consumer

    create_worker_consumer.faust_original = create  # type: ignore[attr-defined]
    AIOKafkaConsumerThread._create_worker_consumer = create_worker_consumer  # type: ignore[method-assign]
