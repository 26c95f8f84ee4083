"""Where a restarted worker's recovery time goes: ``recovery_phases`` of `battrace bench --restart`.

Each phase is the moment, in seconds after the kill, at which the new worker first reached a step, read from three
honest sources: the bench's own clock (``spawned``: the new worker's process started), the worker's start-up steps on
its metrics port (``battrace_worker_startup_timestamp_seconds``, processors/metrics.py: ``entered`` its entry point
after the interpreter started, ``built`` its modules imported and app built, ``seal_assigned`` the seal stage's group
joined and assigned, ``table_recovered`` its table recovered, ``first_batch_stored`` its first seal group stored,
``logs_followed`` every assigned log resumed by the checkpointer, in the background), and the broker
(``ingested``: the CreateTime of the first trace.chain pack after the kill, i.e. the ingest child joined its group,
read the batch and sent it). ``sealed`` is ``recovery_s``. All are the same machine's wall clock.
"""

from __future__ import annotations

import httpx
from confluent_kafka import Consumer
from confluent_kafka import TopicPartition as ConfluentTP
from prometheus_client.parser import text_string_to_metric_families

from processors.metrics import STARTUP_METRIC, STARTUP_STEPS
from streams.kafka import client_config, consume_until_quiet, end_offsets

SPAWNED, INGESTED, SEALED = "spawned", "ingested", "sealed"
# The order the phases are shown in: a start-up's steps as they usually follow each other.
PHASES = (SPAWNED, *STARTUP_STEPS[:4], INGESTED, STARTUP_STEPS[4], SEALED, *STARTUP_STEPS[5:])


def startup_steps(host: str, port: int, timeout_s: float = 5) -> dict[str, float]:
    """Step -> Unix time at which the worker serving metrics on ``host:port`` first reached it."""
    text = httpx.get(f"http://{host}:{port}/metrics", timeout=timeout_s).text
    for family in text_string_to_metric_families(text):
        if family.name == STARTUP_METRIC:
            return {sample.labels["step"]: sample.value for sample in family.samples}
    return {}


def ends_at(bootstrap: str, topic: str) -> dict[int, int]:
    """Partition -> end offset now (before a kill's successor produces)."""
    return {partition: end for (_, partition), end in end_offsets(bootstrap, [topic]).items()}


def first_sent_since(
    bootstrap: str, topic: str, starts: dict[int, int], since_s: float, quiet_s: float = 1.0
) -> float | None:
    """The earliest CreateTime (s) not before ``since_s`` of the messages from ``starts`` on (a reported end may stop
    short of a record batch's tail on Tansu, so one before it is read as well)."""
    consumer = Consumer(client_config(bootstrap, **{"group.id": "battrace-bench", "enable.auto.commit": False}))
    try:
        consumer.assign([ConfluentTP(topic, p, max(0, start - 1)) for p, start in starts.items()])
        first: float | None = None
        for m in consume_until_quiet(consumer, quiet_s, batch=1000):
            created = m.timestamp()[1] / 1000
            if created >= since_s and (first is None or created < first):
                first = created
        return first
    finally:
        consumer.close()


def recovery_phases(killed: float, moments: dict[str, float | None]) -> dict[str, float]:
    """Phase -> seconds after the kill, in PHASES order; a phase not reached (or not read) is left out."""
    return {phase: round(moments[phase] - killed, 3) for phase in PHASES if moments.get(phase) is not None}
