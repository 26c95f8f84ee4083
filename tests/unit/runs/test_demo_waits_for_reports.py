"""The demo waits for what it reports: every delivered consignment's delivery on trace.deliveries, then its report.

A run once ended with 0 of 3 reports because the catch-up check passed while the deliveries were still on their
way to the broker. The wait is tested here with the broker's answers replayed in order: no Kafka is started.
"""

from __future__ import annotations

import pytest

from battrace.runs.demo import delivered_consignment
from battrace.stack.worker import WorkerError, wait_until_reported
from schemas.codec import Decoder
from streams.simulator import simulate


class Replay:
    """Answers one value per call, then keeps answering the last one; counts the calls."""

    def __init__(self, *answers) -> None:
        self.answers, self.calls = list(answers), 0

    def __call__(self):
        self.calls += 1
        return self.answers[min(self.calls, len(self.answers)) - 1]


class Clock:
    """A clock that moves only when the wait sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def wait(expected: set[str], delivered: Replay, committed: Replay, timeout_s: float = 60, worker=None) -> Clock:
    clock = Clock()
    wait_until_reported(expected, delivered, committed, worker, timeout_s, sleep=clock.sleep, clock=clock)
    return clock


def test_caught_up_commits_do_not_end_the_wait_while_a_delivery_is_still_missing() -> None:
    delivered = Replay(set(), {"CONS-1"}, {"CONS-1", "CONS-3"}, {"CONS-1", "CONS-2", "CONS-3"})
    committed = Replay(True)  # the report group looks caught up from the start: nothing arrived to commit
    wait({"CONS-1", "CONS-2", "CONS-3"}, delivered, committed)
    assert delivered.calls == 4  # it returned only once all three deliveries were on the topic


def test_all_deliveries_present_still_wait_for_the_report_commits() -> None:
    delivered = Replay({"CONS-1", "CONS-2"})
    committed = Replay(False, False, True)
    clock = wait({"CONS-1", "CONS-2"}, delivered, committed)
    assert committed.calls == 3 and clock.now == 1.0


def test_no_delivered_consignment_means_nothing_to_wait_for_but_the_commits() -> None:
    committed = Replay(True)
    assert wait(set(), Replay(set()), committed).now == 0.0 and committed.calls == 1


def test_a_delivery_that_never_arrives_times_out_naming_it() -> None:
    with pytest.raises(WorkerError, match=r"1 delivered consignments never reached trace\.deliveries: CONS-2"):
        wait({"CONS-1", "CONS-2"}, Replay({"CONS-1"}), Replay(True), timeout_s=5)
    with pytest.raises(WorkerError, match="did not store the reports"):
        wait({"CONS-1"}, Replay({"CONS-1"}), Replay(False), timeout_s=5)


def test_a_worker_that_died_ends_the_wait_with_its_log() -> None:
    class Dead:
        log_path = "worker.log"

        def alive(self) -> bool:
            return False

    with pytest.raises(WorkerError, match=r"worker\.log"):
        wait({"CONS-1"}, Replay(set()), Replay(True), worker=Dead())


def test_the_demo_expects_a_report_for_each_valid_delivered_consignment() -> None:
    decoder = Decoder()
    events = list(simulate(3000, seed=7))
    expected = {c for c in (delivered_consignment(ev, decoder) for ev in events) if c is not None}
    assert expected and all(c.startswith("CONS-") for c in expected)
    invalid = [ev for ev in events if ev.expected_reason is not None]
    assert all(delivered_consignment(ev, decoder) is None for ev in invalid)  # rejected: no delivery, no report
    delivered_keys = {ev.key.decode() for ev in events if ev.expected_reason is None and ev.topic == "logistics.events"}
    assert expected <= delivered_keys  # a consignment's Delivered event is keyed by the consignment
