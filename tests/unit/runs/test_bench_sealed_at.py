"""The bench's pipeline window ends when what it published is sealed, not when the reports drafted from it are: their
drafts come back through reports.events and trace.chain after the data, and are timed apart."""

from __future__ import annotations

import pytest

from battrace.runs.bench import sealed_at
from battrace.runs.commit_clock import CommitClock

MES, CHAIN, REPORTS = ("mes.events", 0), ("trace.chain", 0), ("reports.events", 0)


def recorded(timeline: dict, ends: dict) -> CommitClock:
    """A clock as its polling thread leaves it (no broker: only the recorded lines)."""
    clock = CommitClock.__new__(CommitClock)
    clock.timeline, clock.ends = timeline, ends
    return clock


def test_the_window_ends_when_the_chain_is_committed_as_far_as_it_reached_when_ingest_was_done() -> None:
    clock = recorded(
        timeline={
            MES: [(1.0, 500), (2.0, 1000)],  # ingest took the last published message at t=2
            CHAIN: [(1.5, 40), (3.0, 80), (9.0, 95)],  # the data's packs end at 80; report packs follow
            REPORTS: [(8.0, 15)],
        },
        ends={CHAIN: [(1.0, 40), (2.0, 80), (7.0, 95)]},
    )
    final = {MES: 1000, CHAIN: 95, REPORTS: 15}
    assert sealed_at(clock, final) == 3.0


def test_a_chain_committed_only_with_the_reports_ends_the_window_there() -> None:
    clock = recorded(
        timeline={MES: [(2.0, 1000)], CHAIN: [(9.0, 95)], REPORTS: [(8.0, 15)]},
        ends={CHAIN: [(2.0, 80), (7.0, 95)]},
    )
    assert sealed_at(clock, {MES: 1000, CHAIN: 95, REPORTS: 15}) == 9.0


def test_a_missed_commit_is_an_error_not_a_number() -> None:
    clock = recorded(timeline={MES: [(2.0, 1000)], CHAIN: [(1.0, 10)]}, ends={CHAIN: [(2.0, 80)]})
    with pytest.raises(Exception, match="missed"):
        sealed_at(clock, {MES: 1000, CHAIN: 80})
