"""The report stage: each sealed delivery of a consignment on trace.deliveries gets its signed report.

Why not a Faust agent: reports wait for their inputs (seconds), so several run side by side, and a Faust agent
with concurrency > 1 acks out of order. After a restart Faust sometimes dropped an in-flight delivery without
acking it, and the hole held the partition's commits back for good (the SIGKILL test's "trace.deliveries stuck").
This stage reads with a plain aiokafka consumer in its own group, issues a batch's reports side by side, and
commits the batch's offsets only after every report of it is in ClickHouse: at-least-once, like ingest; reports
are keyed by consignment, so a redelivered one replaces itself.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from battrace.settings import Settings
from processors.group_consumer import Batch, consume_and_commit, group_consumer
from processors.predecessors import Succession
from streams import topics

REPORTS_SIDE_BY_SIDE = 4  # reports of one batch issued at once (each mostly waits: for inputs, for chDB)
MAX_DELIVERIES_PER_BATCH = 64

IssueReport = Callable[[dict[str, Any]], Awaitable[None]]
Draft = TypeVar("Draft")
T = TypeVar("T")


class SealBacklog:
    """Tells reports to wait while the seal stage works through a backlog (it seals packs that waited > 1 s).

    Both stages share two cores: a report's ClickHouse reads take about a core while they run, which slowed
    sealing by ~13 % during a burst. Sealing is on the latency path; reports wait for their inputs anyway, so
    they yield, each batch of them for at most ``max_wait_s`` in all (they are never starved).
    """

    def __init__(
        self, quiet_s: float = 1.0, behind_s: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.quiet_s, self.behind_s, self.clock = quiet_s, behind_s, clock
        self._busy_until = 0.0
        self._last_batch = -math.inf

    def batch_sealed(self, waited_s: float) -> None:
        """A seal batch was taken whose oldest pack had waited ``waited_s`` since ingest produced it."""
        self._last_batch = self.clock()
        if waited_s > self.behind_s:
            self._busy_until = self.clock() + self.quiet_s

    def sealing(self) -> bool:
        """The seal stage took a batch within the last ``quiet_s``: events are flowing."""
        return self.clock() - self._last_batch < self.quiet_s

    def busy(self) -> bool:
        return self.clock() < self._busy_until

    async def wait(self, max_wait_s: float, poll_s: float = 0.2) -> float:
        """Until the backlog is gone or ``max_wait_s`` passed; the seconds waited."""
        start = self.clock()
        while self.busy() and self.clock() - start < max_wait_s:
            await asyncio.sleep(poll_s)
        return self.clock() - start


class ReportPacer:
    """Keeps report work to ``share`` of the wall clock while the seal stage is working; flat out when it is idle.

    A report's ClickHouse reads take about a core while they run. At 5,000 events/s offered (about one delivery per
    500 events) the report thread was busy the whole time, as busy as the seal stage's, and sealing fell behind
    the offered rate. Reports are not on the latency path (they wait seconds for their inputs anyway): while
    events flow, each piece of report work that took d seconds is followed by d * (1/share - 1) seconds without
    report work. Under sustained load the reports then trail the deliveries; they catch up when the load drops.
    """

    def __init__(
        self,
        backlog: SealBacklog,
        share: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"share is a fraction of the wall clock in (0, 1], got {share}")
        self.backlog, self.share, self._sleep = backlog, share, sleep
        self._next_start = -math.inf
        self._one_at_a_time = asyncio.Lock()

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """``work`` (one at a time), after the pause that earlier work owes while the seal stage is working."""
        clock = self.backlog.clock
        async with self._one_at_a_time:
            while self.backlog.sealing() and clock() < self._next_start:
                await self._sleep(min(0.1, self._next_start - clock()))
            start = clock()
            result = await work()
            end = clock()
            self._next_start = end + (end - start) * (1 / self.share - 1)
            return result


def max_batch_seconds(settings: Settings) -> float:
    """A generous bound on one batch (the poll interval the group allows): the backlog wait once, then rounds of
    reports that each wait for a checkpoint and for inputs."""
    rounds = -(-MAX_DELIVERIES_PER_BATCH // REPORTS_SIDE_BY_SIDE)
    # a report waits for a checkpoint, then re-drafts for its inputs (plus its own backlog waits), then signs
    per_round = settings.report_checkpoint_wait_s + settings.report_inputs_wait_s + settings.report_defer_s + 30.0
    return max(300.0, settings.report_defer_s + rounds * per_round)


def consumer_for(settings: Settings) -> AIOKafkaConsumer:
    return group_consumer(
        settings,
        settings.report_group,
        topics.DELIVERIES.name,
        max_poll_records=MAX_DELIVERIES_PER_BATCH,
        max_poll_interval_ms=int(max_batch_seconds(settings) * 1000),
    )


async def issue_batch(
    batch: Batch, issue: IssueReport, backlog: SealBacklog | None = None, max_wait_s: float = 0.0
) -> None:
    """Every delivery of the batch, at most REPORTS_SIDE_BY_SIDE at a time; raises if any report failed.

    Each report first lets a seal backlog go (a batch of reports takes tens of seconds of a core), and the
    batch's reports wait ``max_wait_s`` in all at most."""
    slots = asyncio.Semaphore(REPORTS_SIDE_BY_SIDE)
    deadline = time.monotonic() + max_wait_s

    async def one(record: ConsumerRecord) -> None:
        async with slots:
            if backlog is not None:
                await backlog.wait(max(0.0, deadline - time.monotonic()))
            await issue(json.loads(record.value))

    await asyncio.gather(*(one(r) for records in batch.values() for r in records))


async def draft_until_inputs_arrive(
    draft: Callable[[], Awaitable[Draft | None]],
    awaits_inputs: Callable[[Draft], bool],
    inputs_wait_s: float,
    backlog: SealBacklog | None = None,
    max_defer_s: float = 0.0,
) -> Draft | None:
    """The draft, re-drafted with backoff for up to ``inputs_wait_s`` while some of its inputs are in flight.

    Inputs are in flight because the seal stage is behind, so every draft first lets a seal backlog go (each
    draft reads the growing tables again; a report waiting for its checkpoint could otherwise start drafting in
    the middle of a burst). Time spent waiting for a backlog, ``max_defer_s`` in all at most, does not count
    against ``inputs_wait_s``.
    """
    deadline = time.monotonic() + inputs_wait_s
    pause = 0.5
    while True:
        if backlog is not None and max_defer_s > 0:
            waited = await backlog.wait(max_defer_s)
            max_defer_s -= waited
            deadline += waited
        drafted = await draft()
        if drafted is None or not awaits_inputs(drafted) or time.monotonic() > deadline:
            return drafted
        await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, 4.0)


async def run_stage(settings: Settings, issue: IssueReport, backlog: SealBacklog | None = None) -> None:
    """Consume -> (let a seal backlog go first) -> issue reports -> commit, until cancelled; a failed report
    propagates (the caller exits, and the batch is redelivered to the next worker)."""

    async def issue_all(batch: Batch) -> None:
        await issue_batch(batch, issue, backlog, settings.report_defer_s)

    succession = Succession(settings, settings.report_group)
    await consume_and_commit(consumer_for(settings), issue_all, settings.batch_seconds, succession)
