"""A broker that crashes mid-run and comes back: Apache Kafka keeps its log on disk, so nothing is lost.

Runs under `make test-kafka` (BATTRACE_BROKER=kafka); Tansu keeps its topics in memory, so a restarted Tansu starts
empty by design, and the test says so instead of running."""

from __future__ import annotations

import time

import pytest
from embedded import Stack, verify_all
from published import PUBLISHED, REJECTED_PUBLISHED

from battrace.stack.apache_kafka import ApacheKafkaBroker
from battrace.stack.worker import committed_by_groups
from streams.simulator import simulate
from streams.topics import CHAIN


class _Enough(Exception):
    pass


def test_a_broker_killed_and_restarted_mid_run_loses_nothing(stack: Stack) -> None:
    if stack.tansu:
        pytest.skip("Tansu keeps its topics in memory: a restarted Tansu starts empty by design (make test-kafka)")
    assert isinstance(stack.broker, ApacheKafkaBroker)
    events = list(simulate(6000, seed=37, invalid_share=0.03))
    first, rest = events[:3500], events[3500:]
    published = stack.publish(first)

    def some_committed(done: int, total: int) -> None:
        """A quarter committed, the seal stage's commits among it: every stage is running when the broker dies
        (ingest, a process of its own, can get that far while the seal stage still starts)."""
        seal = {stack.settings.app_id: [CHAIN.name]}
        if done > total // 4 and sum(max(o, 0) for o in committed_by_groups(stack.bootstrap, seal).values()) > 0:
            raise _Enough

    with stack.worker() as worker:
        with pytest.raises(_Enough):
            stack.caught_up(worker, on_progress=some_committed)
        stack.broker.kill()  # SIGKILL: no clean shutdown, no flush of its own
        time.sleep(2)
        stack.broker.start()  # same ports, same data directory
        published += stack.publish(rest)
        stack.settle(worker)  # the same worker goes on once its broker is back

    valid_ids = {ev.event_id for ev in events if ev.expected_reason is None}
    sealed_ids = {r[0] for r in stack.sql(f"SELECT DISTINCT event_id FROM battrace.sealed FINAL WHERE {PUBLISHED}")}
    rejected = stack.sql(REJECTED_PUBLISHED)[0][0]
    assert sealed_ids == valid_ids
    assert published == len(sealed_ids) + rejected
    twice = "SELECT entity_type, entity_id, event_id FROM battrace.sealed FINAL GROUP BY ALL HAVING count() > 1"
    assert stack.sql(f"SELECT count() FROM ({twice})") == [[0]]
    code, report = verify_all(stack.settings.home)
    assert code == 0 and report["ok"], report["failures"][:5]
