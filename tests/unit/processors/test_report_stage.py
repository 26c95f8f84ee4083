"""The report stage's yielding to a seal backlog, and its bound on one batch (the group's poll interval)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

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


def _drafts(backlog: SealBacklog | None, pending_drafts: int, inputs_wait_s: float, max_defer_s: float = 0.0):
    """Run draft_until_inputs_arrive on a draft whose inputs arrive after ``pending_drafts`` drafts; the drafts
    taken (each with whether the backlog was busy then), the result and the seconds it took."""
    from processors.report_stage import draft_until_inputs_arrive

    taken: list[bool] = []

    async def draft() -> dict:
        taken.append(backlog.busy() if backlog else False)
        return {"awaits": len(taken) <= pending_drafts, "n": len(taken)}

    async def run():
        start = asyncio.get_running_loop().time()
        got = await draft_until_inputs_arrive(draft, lambda d: d["awaits"], inputs_wait_s, backlog, max_defer_s)
        return got, asyncio.get_running_loop().time() - start

    got, took = asyncio.run(run())
    return taken, got, took


def test_a_complete_draft_is_not_drafted_again() -> None:
    taken, got, _ = _drafts(None, pending_drafts=0, inputs_wait_s=30)
    assert (len(taken), got["n"], got["awaits"]) == (1, 1, False)


def test_a_draft_awaiting_inputs_is_redrafted_until_they_arrive() -> None:
    taken, got, took = _drafts(None, pending_drafts=2, inputs_wait_s=30)
    assert (len(taken), got["awaits"]) == (3, False)
    assert 0.5 + 1.0 <= took < 10  # backing off 0.5 s, then 1 s


def test_a_draft_whose_inputs_never_arrive_goes_out_after_the_inputs_wait() -> None:
    taken, got, took = _drafts(None, pending_drafts=1000, inputs_wait_s=1.0)
    assert got["awaits"] and 2 <= len(taken) <= 4  # drafts at 0, 0.5, 1.0 (+ the one past the deadline)
    assert 1.0 <= took < 3


def test_redrafts_wait_for_a_seal_backlog_and_that_wait_does_not_use_up_the_inputs_wait() -> None:
    backlog = SealBacklog(quiet_s=1.5, behind_s=1.0)
    backlog.batch_sealed(waited_s=BEHIND)  # a burst, for 1.5 s
    taken, _, took = _drafts(backlog, pending_drafts=1000, inputs_wait_s=1.0, max_defer_s=60)
    assert not any(taken)  # no draft while the backlog lasted
    assert 1.5 + 1.0 <= took < 5  # the backlog's 1.5 s did not count against the 1 s inputs wait
    assert len(taken) >= 2


def test_an_endless_backlog_delays_redrafts_by_at_most_max_defer() -> None:
    backlog = SealBacklog(quiet_s=1000.0, behind_s=1.0)
    backlog.batch_sealed(waited_s=BEHIND)
    taken, got, took = _drafts(backlog, pending_drafts=1000, inputs_wait_s=0.6, max_defer_s=1.0)
    assert got["awaits"] and all(taken)  # still busy: it went out with its inputs marked missing
    assert 0.6 + 1.0 <= took < 4


def _paced_starts(share: float, sealing_every_s: float | None, work_s: float, runs: int) -> list[float]:
    """When each of ``runs`` pieces of report work (``work_s`` each, back to back) starts on a fake clock, while a
    seal batch comes every ``sealing_every_s`` (None: the seal stage is idle)."""
    clock = Clock()
    backlog = SealBacklog(quiet_s=1.0, clock=clock)
    next_batch = clock.now

    def advance(seconds: float) -> None:
        nonlocal next_batch
        end = clock.now + seconds
        while sealing_every_s is not None and next_batch <= end:
            clock.now = next_batch
            backlog.batch_sealed(waited_s=KEEPING_UP)  # events flow, no backlog
            next_batch += sealing_every_s
        clock.now = end

    async def sleep(seconds: float) -> None:
        advance(seconds)

    pacer = report_stage.ReportPacer(backlog, share, sleep=sleep)
    starts: list[float] = []

    async def work() -> None:
        starts.append(clock.now)
        advance(work_s)

    async def run() -> None:
        advance(0.0)
        for _ in range(runs):
            await pacer.run(work)

    asyncio.run(run())
    return [round(t - starts[0], 6) for t in starts]


def test_while_events_flow_report_work_keeps_to_its_share_of_the_clock() -> None:
    # a quarter: 0.2 s of work, then 0.6 s without
    assert _paced_starts(share=0.25, sealing_every_s=0.2, work_s=0.2, runs=4) == [0.0, 0.8, 1.6, 2.4]
    assert _paced_starts(share=0.5, sealing_every_s=0.2, work_s=0.3, runs=3) == [0.0, 0.6, 1.2]


def test_with_the_seal_stage_idle_report_work_runs_flat_out() -> None:
    assert _paced_starts(share=0.25, sealing_every_s=None, work_s=0.2, runs=4) == [0.0, 0.2, 0.4, 0.6]


def test_report_work_owes_no_pause_once_the_seal_stage_goes_idle() -> None:
    # one seal batch at the start, quiet for a second after it: the pause owed after the first 0.5 s of work
    # (1.5 s at a quarter) ends when the seal stage has been idle for 1 s
    assert _paced_starts(share=0.25, sealing_every_s=100.0, work_s=0.5, runs=2) == [0.0, 1.0]


def test_a_share_outside_zero_to_one_is_refused() -> None:
    for share in (0.0, 1.5):
        with pytest.raises(ValueError, match="fraction"):
            report_stage.ReportPacer(SealBacklog(), share)
