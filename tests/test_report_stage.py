"""The report stage's yielding to a seal backlog, and its bound on one batch (the group's poll interval)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from battrace.settings import Settings
from processors import report_stage
from processors.report_stage import MAX_DELIVERIES_PER_BATCH, REPORTS_SIDE_BY_SIDE, SealBacklog, max_batch_seconds


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _waited(backlog: SealBacklog, clock: Clock, max_wait_s: float, on_poll) -> float:
    async def sleep_then_tick(_: float) -> None:
        on_poll()

    async def run() -> float:
        real_sleep = asyncio.sleep
        asyncio.sleep = sleep_then_tick  # type: ignore[assignment]
        try:
            return await backlog.wait(max_wait_s)
        finally:
            asyncio.sleep = real_sleep  # type: ignore[assignment]

    return asyncio.run(run())


BEHIND = 5.0  # a seal batch whose oldest pack waited this long: a backlog
KEEPING_UP = 0.3


def test_only_batches_that_waited_make_a_backlog_and_it_ends_when_they_stop() -> None:
    clock = Clock()
    backlog = SealBacklog(quiet_s=1.0, behind_s=1.0, clock=clock)
    assert not backlog.busy()
    backlog.batch_sealed(waited_s=KEEPING_UP)  # a trickle: reports go ahead
    backlog.batch_sealed(waited_s=1.0)
    assert not backlog.busy()
    backlog.batch_sealed(waited_s=1.01)
    assert backlog.busy()
    clock.now += 0.9
    assert backlog.busy()
    clock.now += 0.2
    assert not backlog.busy()


def test_a_report_waits_for_the_backlog_to_clear() -> None:
    clock = Clock()
    backlog = SealBacklog(quiet_s=1.0, clock=clock)
    full_batches = iter(range(5))

    def poll() -> None:  # five more full batches, 0.5 s apart, then the backlog is gone
        clock.now += 0.5
        if next(full_batches, None) is not None:
            backlog.batch_sealed(waited_s=BEHIND)

    backlog.batch_sealed(waited_s=BEHIND)
    assert _waited(backlog, clock, max_wait_s=60, on_poll=poll) == 3.5


def test_a_report_is_never_starved_by_an_endless_backlog() -> None:
    clock = Clock()
    backlog = SealBacklog(quiet_s=1.0, clock=clock)

    def poll() -> None:
        clock.now += 0.5
        backlog.batch_sealed(waited_s=BEHIND)

    backlog.batch_sealed(waited_s=BEHIND)
    assert _waited(backlog, clock, max_wait_s=30, on_poll=poll) == 30
    assert backlog.busy()  # still a backlog, but the report goes ahead


def test_a_batch_fits_the_poll_interval_even_when_every_report_waits_its_longest(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, report_defer_s=60, report_checkpoint_wait_s=30, report_inputs_wait_s=15)
    rounds = MAX_DELIVERIES_PER_BATCH // REPORTS_SIDE_BY_SIDE
    assert max_batch_seconds(settings) > 60 + rounds * (30 + 15)


def test_a_batch_of_reports_waits_for_a_backlog_at_most_max_wait_in_all() -> None:
    """Every report checks the backlog before it is drafted, and the batch's reports share one bound."""
    from processors.report_stage import issue_batch

    backlog = SealBacklog(quiet_s=30.0, behind_s=1.0)
    issued: list[tuple[int, bool]] = []

    async def issue(delivery: dict) -> None:
        issued.append((delivery["n"], backlog.busy()))
        if delivery["n"] == 0:
            backlog.batch_sealed(waited_s=BEHIND)  # a burst begins while the first report is issued

    records = [_Record(b'{"n": %d}' % n) for n in range(2)]

    async def run() -> float:
        start = asyncio.get_running_loop().time()
        await issue_batch({"tp": records}, issue, backlog, max_wait_s=0.5)
        return asyncio.get_running_loop().time() - start

    slots = report_stage.REPORTS_SIDE_BY_SIDE
    report_stage.REPORTS_SIDE_BY_SIDE = 1  # one at a time, so the second report sees the burst
    try:
        took = asyncio.run(run())
    finally:
        report_stage.REPORTS_SIDE_BY_SIDE = slots
    assert issued == [(0, False), (1, True)]  # the second waited, then went ahead while still busy
    assert 0.5 <= took < 10  # the shared bound, not the backlog's 30 s


class _Record:
    def __init__(self, value: bytes) -> None:
        self.value = value
