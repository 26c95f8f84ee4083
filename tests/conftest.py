"""Fixtures that start the real components: a Tansu broker per test and chDB under the test's home."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client
from confluent_kafka import Consumer, TopicPartition

from battrace.demo import CONSUMED_TOPICS
from battrace.settings import Settings
from battrace.stack.broker import EmbeddedBroker
from battrace.stack.clickhouse import connect
from battrace.stack.worker import WorkerProcess, wait_until_caught_up
from streams.kafka import end_offsets, ensure_topics
from streams.producer import EventProducer


@dataclass
class Stack:
    settings: Settings
    bootstrap: str

    def publish(self, events: list) -> int:
        with EventProducer(self.bootstrap) as producer:
            for ev in events:
                producer.send_raw(ev.topic, ev.key, ev.value, ev.timestamp_ms)
        return producer.delivered

    @contextmanager
    def worker(self) -> Iterator[WorkerProcess]:
        with WorkerProcess(self.settings, self.bootstrap, self.settings.home / "worker.log") as worker:
            yield worker

    def process(self) -> None:
        """Run a worker until every published message is processed and committed, then stop it."""
        with self.worker() as worker:
            wait_until_caught_up(self.bootstrap, self.settings.app_id, CONSUMED_TOPICS, worker, timeout_s=300)

    @contextmanager
    def clickhouse(self) -> Iterator[Client]:
        """chDB opens a path in one process at a time: use only while no worker runs."""
        client = connect(self.settings)
        try:
            yield client
        finally:
            client.close()

    def rewind(self, topic_names: list[str]) -> None:
        """Commit offset 0 for the pipeline's group on every partition: a full replay on next start."""
        tps = [TopicPartition(t, p, 0) for (t, p) in end_offsets(self.bootstrap, topic_names)]
        consumer = Consumer(
            {"bootstrap.servers": self.bootstrap, "group.id": self.settings.app_id, "enable.auto.commit": False}
        )
        try:
            consumer.commit(offsets=tps, asynchronous=False)
        finally:
            consumer.close()


@contextmanager
def embedded_stack(home: Path) -> Iterator[Stack]:
    settings = Settings(home=home, partitions=2, batch_seconds=0.2)
    with EmbeddedBroker(home / "broker") as broker:
        ensure_topics(broker.bootstrap, settings.partitions)
        yield Stack(settings, broker.bootstrap)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with embedded_stack(tmp_path) as s:
        yield s
