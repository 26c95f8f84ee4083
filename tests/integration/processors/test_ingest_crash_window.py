"""The ingest stage dies between its acknowledged sends and its offset commit: the window no SIGKILL timing hits.

``BATTRACE_FAULT=ingest_after_send`` (test only) makes ingest exit once the sends of its first batch are acknowledged
(packs on trace.chain, rejects on trace.rejects, first acceptances on trace.event_ids) and before it commits the
batch's source offsets. The next worker reads the batch again: its dedup state, recovered from trace.event_ids, names
each event id's first source coordinates, which are this message's own, so the event is a redelivery, passed on; the
seal stage recognises every item its entities already applied and logs it as ``redelivered``, sealing nothing twice.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from embedded import embedded_stack, verify_all
from published import NOT_STEPS, REJECTED_PUBLISHED, SEALED_PUBLISHED

from battrace.stack.worker import WorkerProcess
from processors.event_ids import decode_changes
from processors.failures import EXIT_PROCESSING_FAILED
from streams import topics
from streams.kafka import committed_offsets, end_offsets
from streams.simulator import simulate

SOURCES = [t.name for t in topics.SOURCES]
TWICE = (
    "SELECT count() FROM (SELECT entity_type, entity_id, event_id FROM battrace.sealed FINAL GROUP BY ALL "
    "HAVING count() > 1)"
)
REDELIVERED = (
    "SELECT DISTINCT JSONExtractString(entry, 'event_id') FROM battrace.log_entries FINAL "
    "WHERE JSONExtractString(entry, 'kind') = 'redelivered'"
)


def accepted_ids(bootstrap: str, quiet_s: float = 1.0) -> set[str]:
    """Every event id trace.event_ids holds: the first acceptances ingest logged (read until quiet)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "crash-window-ids", "enable.auto.commit": False})
    ids: set[str] = set()
    try:
        name = topics.EVENT_IDS.name
        partitions = consumer.list_topics(name, timeout=10).topics[name].partitions
        consumer.assign([TopicPartition(name, p, OFFSET_BEGINNING) for p in partitions])
        last_seen = time.monotonic()
        while time.monotonic() - last_seen < quiet_s:
            msgs = consumer.consume(num_messages=1000, timeout=0.1)
            ids.update(i for m in msgs if m.error() is None and m.value() for i in decode_changes(m.value()))
            if msgs:
                last_seen = time.monotonic()
        return ids
    finally:
        consumer.close()


def exit_code(worker: WorkerProcess, timeout_s: float = 180) -> int | None:
    deadline = time.monotonic() + timeout_s
    while worker.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    return worker.proc.poll() if worker.proc else None


@pytest.mark.parametrize("table_store", ["memory://", "rocksdb://"])
def test_a_batch_sent_but_not_committed_is_redelivered_and_sealed_once(tmp_path: Path, table_store: str) -> None:
    if table_store.startswith("rocksdb"):
        pytest.importorskip("rocksdict", reason="the RocksDB table store needs the rocksdict package")
    events = list(simulate(1200, seed=13, invalid_share=0.05))
    with embedded_stack(tmp_path) as stack:
        stack.settings = stack.settings.model_copy(update={"table_store": table_store})
        published = stack.publish(events[:700])
        faulty = stack.settings.model_copy(update={"fault": "ingest_after_send"})
        log = tmp_path / "faulty-worker.log"
        with WorkerProcess(faulty, stack.bootstrap, log, stack.tansu) as worker:
            code = exit_code(worker)
        assert code == EXIT_PROCESSING_FAILED, log.read_text()[-3000:]
        assert "exiting after the sends, before the commit" in log.read_text()
        # The window: the batch's outputs are on the broker, its source offsets are not committed.
        assert sum(end_offsets(stack.bootstrap, [topics.CHAIN.name]).values()) > 0
        sources = end_offsets(stack.bootstrap, SOURCES)
        committed = committed_offsets(stack.bootstrap, stack.settings.ingest_group, sources)
        assert committed and all(offset < 0 for offset in committed.values()), committed  # none committed
        crashed_batch = accepted_ids(stack.bootstrap)
        assert crashed_batch

        published += stack.publish(events[700:])
        stack.process(reports_of=events)

        redelivered = {row[0] for row in stack.sql(REDELIVERED)}
        sealed = {row[0] for row in stack.sql(SEALED_PUBLISHED)}
        rejected = stack.sql(REJECTED_PUBLISHED)[0][0]
        duplicates = stack.sql(f"SELECT count() FROM battrace.rejects FINAL WHERE {NOT_STEPS} AND reason = 'duplicate'")
        valid = {ev.event_id for ev in events if ev.expected_reason is None}
        assert redelivered == crashed_batch  # every accepted event of the crashed batch came again, recognised
        assert crashed_batch <= sealed
        assert stack.sql(TWICE) == [[0]]  # no chain holds an event twice
        assert published == len(events) == len(sealed) + rejected
        assert sealed == valid
        assert duplicates == [[sum(ev.expected_reason == "duplicate" for ev in events)]]  # no redelivery rejected
        code, report = verify_all(stack.settings.home)
        assert code == 0 and report["ok"], json.dumps(report["failures"][:5])
