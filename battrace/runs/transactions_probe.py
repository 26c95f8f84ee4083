"""What Kafka transactions would cost ingest, measured on Apache Kafka: ``python -m battrace.runs.transactions_probe``.

Ingest's at-least-once step is: send a batch's packs (idempotent producer), wait for the acknowledgements, then
commit the source offsets. The transactional alternative sends the batch and its source offsets in one transaction
(``send_offsets_to_transaction`` + ``commit_transaction``), so a crash between the two could not re-send a pack.
This probe times both on the same broker, batch by batch, with messages of a trace.chain pack's typical size; the
choice it informs is written up in docs/architecture.md ("Delivery on Apache Kafka").
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

from battrace.stack.apache_kafka import ApacheKafkaBroker
from streams.kafka import client_config, committed_offsets, ensure_topics, producer_config
from streams.topics import TopicSpec

TOPIC = TopicSpec("probe.out", "what the probe sends")
SOURCE = "probe.in"
GROUP = "probe"


def _idempotent(bootstrap: str, batches: int, size: int, value: bytes) -> float:
    producer = Producer(producer_config(bootstrap))
    consumer = Consumer(client_config(bootstrap, **{"group.id": GROUP, "enable.auto.commit": False}))
    started = time.perf_counter()
    for b in range(batches):
        for _ in range(size):
            producer.produce(TOPIC.name, value)
        producer.flush()
        consumer.commit(offsets=[TopicPartition(SOURCE, 0, (b + 1) * size)], asynchronous=False)
    elapsed = time.perf_counter() - started
    consumer.close()
    return elapsed


def _transactional(bootstrap: str, batches: int, size: int, value: bytes) -> float:
    producer = Producer(producer_config(bootstrap, **{"transactional.id": "probe-ingest"}))
    consumer = Consumer(client_config(bootstrap, **{"group.id": GROUP, "enable.auto.commit": False}))
    producer.init_transactions(30)
    started = time.perf_counter()
    for b in range(batches):
        producer.begin_transaction()
        for _ in range(size):
            producer.produce(TOPIC.name, value)
        offsets = [TopicPartition(SOURCE, 0, (b + 1) * size)]
        producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), 30)
        producer.commit_transaction(30)
    elapsed = time.perf_counter() - started
    consumer.close()
    return elapsed


def probe(batches: int = 50, size: int = 2000, value_bytes: int = 300) -> dict[str, float]:
    value = b"x" * value_bytes
    with tempfile.TemporaryDirectory() as tmp, ApacheKafkaBroker(Path(tmp)) as broker:
        ensure_topics(broker.bootstrap, 1, [TOPIC, TopicSpec(SOURCE, "offsets the probe commits")])
        committed_offsets(broker.bootstrap, GROUP, [(SOURCE, 0)], timeout_s=60)  # the group's coordinator is up
        _idempotent(broker.bootstrap, 5, size, value)  # warm-up: connections, producer id
        idem = min(_idempotent(broker.bootstrap, batches, size, value) for _ in range(3))
        txn = min(_transactional(broker.bootstrap, batches, size, value) for _ in range(3))
    messages = batches * size
    return {
        "messages": messages,
        "batch": size,
        "idempotent_msgs_per_s": round(messages / idem),
        "transactional_msgs_per_s": round(messages / txn),
        "idempotent_ms_per_batch": round(idem / batches * 1000, 2),
        "transactional_ms_per_batch": round(txn / batches * 1000, 2),
    }


if __name__ == "__main__":
    print(json.dumps(probe(*(int(a) for a in sys.argv[1:]))))
