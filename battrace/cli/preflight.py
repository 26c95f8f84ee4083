"""Checks a command makes before it touches anything: the home exists, the store is free, Kafka answers.

They turn what would fail halfway (with chDB's or librdkafka's own lines on stderr, or after creating directories
in a home that was a typo) into one line before any work. A read-only command creates nothing, so a missing home
is named, never made.
"""

from __future__ import annotations

from pathlib import Path

from battrace.cli.known_errors import FixableError, held_store_message, unreachable_kafka_message
from battrace.cli.store_lock import store_is_held
from battrace.settings import Settings

KAFKA_PROBE_S = 10.0


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


def require_kafka(bootstrap: str, timeout_s: float = KAFKA_PROBE_S) -> None:
    """Refuse an external Kafka that does not answer a metadata request, quietly (librdkafka logs every failed
    connection attempt to stderr by default)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    try:
        admin.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else exc
        raise FixableError(unreachable_kafka_message(bootstrap, getattr(error, "str", lambda: str(error))())) from None
