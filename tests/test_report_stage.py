"""The report stage's yielding to a seal backlog, and its bound on one batch (the group's poll interval)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from battrace.settings import Settings
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


def test_only_full_batches_make_a_backlog_and_it_ends_when_they_stop() -> None:
    clock = Clock()
    backlog = SealBacklog(quiet_s=1.0, clock=clock)
    assert not backlog.busy()
    backlog.batch_sealed(full=False)  # a trickle: reports go ahead
    assert not backlog.busy()
    backlog.batch_sealed(full=True)
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
            backlog.batch_sealed(full=True)

    backlog.batch_sealed(full=True)
    assert _waited(backlog, clock, max_wait_s=60, on_poll=poll) == 3.5


def test_a_report_is_never_starved_by_an_endless_backlog() -> None:
    clock = Clock()
    backlog = SealBacklog(quiet_s=1.0, clock=clock)

    def poll() -> None:
        clock.now += 0.5
        backlog.batch_sealed(full=True)

    backlog.batch_sealed(full=True)
    assert _waited(backlog, clock, max_wait_s=30, on_poll=poll) == 30
    assert backlog.busy()  # still a backlog, but the report goes ahead


def test_a_batch_fits_the_poll_interval_even_when_every_report_waits_its_longest(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, report_defer_s=60, report_checkpoint_wait_s=30, report_inputs_wait_s=15)
    rounds = MAX_DELIVERIES_PER_BATCH // REPORTS_SIDE_BY_SIDE
    assert max_batch_seconds(settings) > 60 + rounds * (30 + 15)
