"""No single message stops the pipeline: oversize messages, events too big for one pack together, a year-3000 event.

Hostile messages are published in the middle of a simulated run, on the real broker, to one worker that must
process everything without exiting; then the whole stream is replayed and must give the same rows.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from embedded import Stack, embedded_stack
from published import NOT_STEPS, SEALED_PUBLISHED

from schemas.reasons import Reason
from streams.producer import EventProducer
from streams.simulator import simulate
from streams.simulator.faults import Forged, far_future_event, oversize_garbage, padded_event

SNAPSHOT = {
    "sealed": "SELECT entity_type, entity_id, seq, event_id, event_hash, prev_hash, chain_hash, log_id, log_index "
    "FROM battrace.sealed FINAL ORDER BY entity_type, entity_id, seq",
    "events": "SELECT event_id, event_hash FROM battrace.events FINAL ORDER BY event_id",
    "rejects": "SELECT source_topic, source_partition, source_offset, reason, detail, original "
    "FROM battrace.rejects FINAL ORDER BY source_topic, source_partition, source_offset",
}
MB = 1_000_000


def _hostile(now_ms: int) -> list[Forged]:
    rng = random.Random(17)
    big = padded_event(900_000, now_ms, rng)  # valid, under the limit: sealed
    twin = padded_event(900_000, now_ms + 1, rng, battery_id=big.key.decode())  # same battery: packed together
    return [
        oversize_garbage(5 * MB, now_ms, rng),
        padded_event(3 * MB, now_ms, rng, reason=Reason.OVERSIZE),
        big,
        twin,
        far_future_event(rng),
    ]


def _publish_large(stack: Stack, messages: list[Forged]) -> int:
    """Messages over librdkafka's default 1 MB limit need a producer that allows them (a hostile one would)."""
    with EventProducer(stack.bootstrap, **{"message.max.bytes": 8 * MB}) as producer:
        for m in messages:
            producer.send_raw(m.topic, m.key, m.value, m.timestamp_ms)
    return producer.delivered


def _process_with_one_worker(stack: Stack) -> None:
    """Like Stack.process, but the worker must stay the same process, alive, with no failure in its log."""
    with stack.worker() as worker:
        assert worker.proc is not None
        pid = worker.proc.pid
        stack.settle(worker)
        assert worker.alive() and worker.proc.pid == pid
    log = worker.log_path.read_text(errors="replace")
    assert "exiting" not in log, log[-3000:]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory):
    with embedded_stack(tmp_path_factory.mktemp("hostile")) as stack:
        events = list(simulate(1200, seed=23, invalid_share=0.02))
        half = len(events) // 2
        hostile = _hostile(events[half].timestamp_ms)
        published = stack.publish(events[:half])
        published += _publish_large(stack, hostile)
        published += stack.publish(events[half:])
        _process_with_one_worker(stack)
        yield stack, events, hostile, published


def _verify_all(home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "battrace", "verify", "--all"], env=env, capture_output=True, text=True, timeout=300
    )


def test_oversize_messages_are_rejected_and_everything_else_is_sealed(hostile_run) -> None:
    stack, events, hostile, published = hostile_run
    valid = {e.event_id for e in events if e.expected_reason is None} | {m.event_id for m in hostile if not m.reason}
    sealed = {r[0] for r in stack.sql(SEALED_PUBLISHED)}
    reasons = dict(stack.sql(f"SELECT reason, count() FROM battrace.rejects FINAL WHERE {NOT_STEPS} GROUP BY reason"))
    expected = Counter(e.expected_reason for e in events if e.expected_reason)
    expected.update(m.reason.value for m in hostile if m.reason)
    assert published == len(events) + len(hostile)
    assert sealed == valid
    assert published == len(sealed) + sum(reasons.values())
    assert reasons == dict(expected)
    oversize = stack.sql("SELECT length(original), detail FROM battrace.rejects FINAL WHERE reason = 'oversize'")
    assert [kept for kept, _ in oversize] == [4096, 4096]
    for m in (m for m in hostile if m.reason is Reason.OVERSIZE):  # each row names its message's length and digest
        described = f"the first 4096 of {len(m.value)} bytes, sha256 {hashlib.sha256(m.value).hexdigest()}"
        assert sum(described in detail for _, detail in oversize) == 1
    result = _verify_all(stack.settings.home)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_an_event_of_the_year_3000_stamped_3000_is_rejected(hostile_run) -> None:
    stack, _, hostile, _ = hostile_run
    future = next(m for m in hostile if m.reason is Reason.INVALID_TIME)
    rows = stack.sql(f"SELECT reason, detail FROM battrace.rejects FINAL WHERE event_id = '{future.event_id}'")
    assert [r[0] for r in rows] == ["invalid_time"]
    assert "trusted clock" in rows[0][1]
    assert stack.sql(f"SELECT count() FROM battrace.sealed FINAL WHERE event_id = '{future.event_id}'") == [[0]]


def test_a_replay_with_the_hostile_messages_gives_the_same_rows(hostile_run) -> None:
    stack, _, _, _ = hostile_run
    before = {name: stack.sql(sql) for name, sql in SNAPSHOT.items()}
    stack.rewind()
    _process_with_one_worker(stack)
    after = {name: stack.sql(sql) for name, sql in SNAPSHOT.items()}
    assert after == before
    assert _verify_all(stack.settings.home).returncode == 0
