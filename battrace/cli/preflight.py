"""Checks a command makes before it touches anything: the home exists, the store is free, Kafka answers.

They turn what would fail halfway (with chDB's or librdkafka's own lines on stderr, or after creating directories
in a home that was a typo) into one line before any work. A read-only command creates nothing, so a missing home
is named, never made.
"""

from __future__ import annotations

import time
from pathlib import Path

from battrace.cli.known_errors import (
    FixableError,
    held_store_message,
    kafka_authentication_message,
    unreachable_kafka_message,
)
from battrace.cli.store_lock import store_is_held
from battrace.settings import Settings

KAFKA_PROBE_S = 10.0
KAFKA_ROUND_S = 1.0  # one metadata request of the probe; error events are read between rounds


def missing_home_message(home: Path) -> str:
    return f"no battrace home at {home}: run `battrace demo` or set BATTRACE_HOME"


def require_home(settings: Settings) -> None:
    """Refuse a home that does not exist, before anything could create it."""
    if not settings.home.is_dir():
        raise FixableError(missing_home_message(settings.home))


def require_free_store(store: Path) -> None:
    """Refuse an embedded chDB store another process holds (a ClickHouse server has no such limit)."""
    if store_is_held(store):
        raise FixableError(held_store_message(store))


def require_kafka(bootstrap: str, timeout_s: float = KAFKA_PROBE_S, settings: Settings | None = None) -> None:
    """Refuse an external Kafka that does not answer a metadata request, or refuses the client's credentials, quietly
    (librdkafka logs every failed connection attempt to stderr by default).

    A broker that refuses SASL credentials only closes the connection, which a metadata request reports as a
    transport failure after its whole timeout; librdkafka says why in an error event. So the request is made in
    short rounds, and the error events are read between them: wrong credentials are named within a second or two.
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient

    from streams.kafka import client_config

    refused: list[str] = []

    def on_error(error: KafkaError) -> None:
        if error.code() == KafkaError._AUTHENTICATION:
            refused.append(error.str())

    admin = AdminClient(client_config(bootstrap, settings, log_level=0, error_cb=on_error))
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin.list_topics(timeout=min(KAFKA_ROUND_S, max(deadline - time.monotonic(), 0.1)))
            return
        except KafkaException as exc:
            admin.poll(0.1)  # serves the error events
            if refused:
                raise FixableError(kafka_authentication_message(bootstrap, refused[0])) from None
            if time.monotonic() >= deadline:
                error = exc.args[0] if exc.args else None
                why = error.str() if isinstance(error, KafkaError) else str(exc)
                raise FixableError(unreachable_kafka_message(bootstrap, why)) from None
