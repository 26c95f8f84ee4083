"""The real components for integration tests: a broker per test, chDB under the test's home, workers.

The broker is Tansu, or Apache Kafka with ``BATTRACE_BROKER=kafka`` (`make test-kafka`): the same tests, the same
assertions."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from published import NOT_STEPS, PUBLISHED

from battrace.runs.demo import delivered_consignment
from battrace.settings import Settings
from battrace.stack.apache_kafka import ApacheKafkaBroker
from battrace.stack.broker import EmbeddedBroker
from battrace.stack.local_broker import local_broker
from battrace.stack.worker import (
    WorkerProcess,
    consumed_topics,
    wait_until_caught_up,
    wait_until_checkpointed,
    wait_until_deliveries_reported,
)
from schemas.codec import Decoder
from streams.kafka import end_offsets, ensure_topics
from streams.producer import EventProducer


class _AsFaust(RoundRobinPartitionAssignor):
    """Joins under faust's protocol name: Tansu refuses a group member whose protocol differs."""

    name = "faust"


@dataclass
class Stack:
    settings: Settings
    bootstrap: str
    broker: EmbeddedBroker | ApacheKafkaBroker | None = None

    @property
    def tansu(self) -> bool:
        """The broker is Tansu: the worker and the waits apply the Tansu-only workarounds (a broker this stack did
        not start is a Kafka)."""
        return self.broker.tansu if self.broker is not None else not self.settings.kafka

    def publish(self, events: list) -> int:
        with EventProducer(self.bootstrap) as producer:
            for ev in events:
                producer.send_raw(ev.topic, ev.key, ev.value, ev.timestamp_ms)
        return producer.delivered

    @contextmanager
    def worker(self, name: str = "worker") -> Iterator[WorkerProcess]:
        """A worker of this stack, logging to ``<home>/<name>.log``."""
        with WorkerProcess(self.settings, self.bootstrap, self.settings.home / f"{name}.log", self.tansu) as worker:
            yield worker

    def process(self, timeout_s: float = 300, reports_of: list | None = None) -> None:
        """Run a worker until every published message is processed and committed, the reports of the deliveries it
        sealed are drafted and their drafts sealed and checkpointed too (they come back through reports.events),
        then stop it. ``reports_of``: published simulator events, whose delivered consignments' reports are awaited
        by name (without it, the report stage's commits of what trace.deliveries holds are awaited)."""
        with self.worker() as worker:
            self.settle(worker, timeout_s, reports_of)

    def settle(
        self, worker: WorkerProcess, timeout_s: float = 300, reports_of: list | None = None, witnesses=None
    ) -> None:
        """What :meth:`process` waits for, with a running worker; ``witnesses``: the cosignatures the final
        checkpoints must carry."""
        self.caught_up(worker, timeout_s)
        wait_until_checkpointed(self.bootstrap, self.settings, worker, tansu=self.tansu)
        decoder = Decoder()
        delivered = {c for ev in reports_of or () if (c := delivered_consignment(ev, decoder)) is not None}
        wait_until_deliveries_reported(self.bootstrap, self.settings, delivered, worker, tansu=self.tansu)
        self.caught_up(worker, timeout_s)
        wait_until_checkpointed(
            self.bootstrap, self.settings, worker, timeout_s=120, witnesses=witnesses, tansu=self.tansu
        )

    def caught_up(self, worker: WorkerProcess | None, timeout_s: float = 300, on_progress=None) -> None:
        """Every group of the pipeline has committed every message of its topics (see wait_until_caught_up)."""
        wait_until_caught_up(
            self.bootstrap, consumed_topics(self.settings), worker, timeout_s, on_progress, tansu=self.tansu
        )

    def checkpointed(self, worker: WorkerProcess | None, timeout_s: float = 120) -> dict[str, int]:
        """A signed checkpoint covers every log entry (see wait_until_checkpointed)."""
        return wait_until_checkpointed(self.bootstrap, self.settings, worker, timeout_s, tansu=self.tansu)

    def sql(self, statement: str) -> list[list]:
        """Run SQL in a child process: chDB keeps its engine for the life of a process that opened it,
        which would lock the store against the next worker."""
        return run_sql(self.settings.home, statement)

    def rewind(self) -> None:
        """Commit offset 0 on every partition the pipeline's groups consume: a full replay on next start.

        Tansu accepts commits only from group members, so this joins each group like a worker would.
        """
        for group, topic_names in consumed_topics(self.settings).items():
            asyncio.run(self._rewind(group, topic_names))

    async def _rewind(self, group: str, topic_names: list[str]) -> None:
        faust_group = group == self.settings.app_id
        consumer = AIOKafkaConsumer(
            *topic_names,
            bootstrap_servers=self.bootstrap,
            group_id=group,
            enable_auto_commit=False,
            rebalance_timeout_ms=4000,
            session_timeout_ms=10000,
            partition_assignment_strategy=(_AsFaust,) if faust_group else (RoundRobinPartitionAssignor,),
        )
        await consumer.start()
        try:
            deadline = time.monotonic() + 60
            while len(consumer.assignment()) < len(end_offsets(self.bootstrap, topic_names)):
                if time.monotonic() > deadline:
                    raise TimeoutError("could not take over every partition of the group")
                await consumer.getmany(timeout_ms=200)
            await consumer.commit({tp: 0 for tp in consumer.assignment()})
        finally:
            await consumer.stop()


def assert_sealed_once_and_verified(stack: Stack, events: list, published: int) -> None:
    """Every valid event sealed, published = sealed + rejected, no chain holds an event twice, and
    `battrace verify --all` passes."""
    valid_ids = {ev.event_id for ev in events if ev.expected_reason is None}
    sealed_ids = {r[0] for r in stack.sql(f"SELECT DISTINCT event_id FROM battrace.sealed FINAL WHERE {PUBLISHED}")}
    rejected = stack.sql(f"SELECT count() FROM battrace.rejects FINAL WHERE {NOT_STEPS}")[0][0]
    assert sealed_ids == valid_ids
    assert published == len(sealed_ids) + rejected
    twice = "SELECT entity_type, entity_id, event_id FROM battrace.sealed FINAL GROUP BY ALL HAVING count() > 1"
    assert stack.sql(f"SELECT count() FROM ({twice})") == [[0]]  # no chain holds an event twice
    code, report = verify_all(stack.settings.home)
    assert code == 0 and report["ok"], report["failures"][:5]


def verify_all(home: Path, *args: str, **env: str) -> tuple[int, dict]:
    """`battrace verify --all --json` on the store in ``home`` (in a child: chDB stays out of the test process):
    its exit code and the JSON report it prints last. ``env``: settings, e.g. ``witness_quorum="1"``."""
    environment = {**os.environ, "BATTRACE_HOME": str(home), **{f"BATTRACE_{k.upper()}": v for k, v in env.items()}}
    result = subprocess.run(
        [sys.executable, "-m", "battrace", "verify", "--all", "--json", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.stdout.strip(), result.stderr
    return result.returncode, json.loads(result.stdout.strip().splitlines()[-1])


def run_sql(home: Path, statement: str) -> list[list]:
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-m", "battrace", "query", statement], env=env, capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise RuntimeError(f"query failed: {result.stderr[-2000:]}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


_WRITE_SCRIPT = """
import json, sys
from battrace.settings import Settings
from battrace.store.client import connect
client = connect(Settings())
try:
    for statement in json.loads(sys.argv[1]):
        client.command(statement, settings={"mutations_sync": 2})
finally:
    client.close()
"""


def write_sql(home: Path, *statements: str) -> None:
    """Run writing statements (tampering, test fixtures) with clickhouse-connect in a child process, in order.

    `battrace query` is read-only, so tests that must change the store write here; a child process, because
    chDB keeps its engine for the life of a process that opened it."""
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-c", _WRITE_SCRIPT, json.dumps(statements)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"write failed: {result.stderr[-2000:]}")


def broker_for_tests(settings: Settings, directory: Path) -> EmbeddedBroker | ApacheKafkaBroker:
    """The broker BATTRACE_BROKER asks for, not started; asked for Apache Kafka where it cannot run, an error (a
    run of `make test-kafka` must never pass on Tansu instead)."""
    chosen = local_broker(settings, directory)
    if chosen.note and settings.broker == "kafka":
        raise RuntimeError(chosen.note)
    return chosen.broker


@contextmanager
def embedded_stack(home: Path) -> Iterator[Stack]:
    # memory://: tests restart workers on the same home and expect every state back from the changelogs; the
    # RocksDB store has tests of its own (processors/test_table_store.py, test_ingest_crash_window.py)
    settings = Settings(home=home, partitions=2, batch_seconds=0.2, table_store="memory://")
    with broker_for_tests(settings, home / "broker") as broker:
        ensure_topics(broker.bootstrap, settings.partitions)
        yield Stack(settings, broker.bootstrap, broker)
