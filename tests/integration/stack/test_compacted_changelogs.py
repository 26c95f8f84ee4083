"""Apache Kafka compacts the workers' changelog topics: a worker that recovers its state from a compacted
changelog goes on with the same chains.

Runs under `make test-kafka` (BATTRACE_BROKER=kafka); Tansu keeps every record and never compacts."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource
from embedded import Stack, verify_all
from published import PUBLISHED, REJECTED_PUBLISHED

from streams.simulator import simulate

# Close a segment a second after it opened and clean it as soon as anything in it is superseded.
EAGER_COMPACTION = {"segment.ms": "1000", "min.cleanable.dirty.ratio": "0.001", "min.compaction.lag.ms": "0"}


def _changelogs(admin: AdminClient) -> list[str]:
    return sorted(t for t in admin.list_topics(timeout=10).topics if t.endswith("-changelog"))


def _cleanup_policy(admin: AdminClient, topic: str) -> str:
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    return admin.describe_configs([resource])[resource].result(30)["cleanup.policy"].value


def _compact_eagerly(admin: AdminClient, topics: list[str]) -> None:
    resources = [
        ConfigResource(
            ConfigResource.Type.TOPIC,
            topic,
            incremental_configs=[
                ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in EAGER_COMPACTION.items()
            ],
        )
        for topic in topics
    ]
    for future in admin.incremental_alter_configs(resources).values():
        future.result(30)


def _records_missing(bootstrap: str, topics: list[str]) -> int:
    """Offsets below the end that hold no record any more (what compaction removed), over every partition."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "compaction-probe", "enable.auto.commit": False})
    try:
        missing = 0
        meta = consumer.list_topics(timeout=10)
        for topic in topics:
            for p in meta.topics[topic].partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)
                consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING)])
                seen, last = 0, low - 1
                while last < high - 1:
                    msgs = consumer.consume(num_messages=10_000, timeout=2)
                    if not msgs:
                        break
                    good = [m for m in msgs if m.error() is None]
                    seen += len(good)
                    last = max([last, *(m.offset() for m in good)])
                missing += (high - low) - seen
        return missing
    finally:
        consumer.close()


def test_a_worker_recovers_from_compacted_changelogs_and_extends_the_same_chains(stack: Stack) -> None:
    if stack.tansu:
        pytest.skip("Tansu never compacts: the changelogs keep every record (make test-kafka)")
    events = list(simulate(5000, seed=43, invalid_share=0.02))
    first, second, third = events[:2000], events[2000:3500], events[3500:]
    admin = AdminClient({"bootstrap.servers": stack.bootstrap})
    published = stack.publish(first)
    stack.process()
    changelogs = _changelogs(admin)
    assert changelogs and all(_cleanup_policy(admin, t) == "compact" for t in changelogs)
    _compact_eagerly(admin, changelogs)
    time.sleep(1.5)  # past segment.ms: the next writes roll the segments the first worker wrote
    published += stack.publish(second)
    stack.process()
    deadline = time.monotonic() + 90  # the log cleaner looks for work every 15 s by default
    while _records_missing(stack.bootstrap, changelogs) == 0:
        assert time.monotonic() < deadline, "Kafka never compacted the changelogs"
        time.sleep(3)
    published += stack.publish(third)
    stack.process()  # a new worker: its tables are what it recovered from the compacted changelogs

    valid_ids = {ev.event_id for ev in events if ev.expected_reason is None}
    sealed_ids = {r[0] for r in stack.sql(f"SELECT DISTINCT event_id FROM battrace.sealed FINAL WHERE {PUBLISHED}")}
    assert sealed_ids == valid_ids
    assert published == len(sealed_ids) + stack.sql(REJECTED_PUBLISHED)[0][0]
    twice = "SELECT entity_type, entity_id, event_id FROM battrace.sealed FINAL GROUP BY ALL HAVING count() > 1"
    assert stack.sql(f"SELECT count() FROM ({twice})") == [[0]]
    code, report = verify_all(stack.settings.home)  # chains gapless and recomputed: no chain started afresh
    assert code == 0 and report["ok"], report["failures"][:5]
