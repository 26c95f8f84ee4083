"""The plain aiokafka consumers of the worker's stages (ingest, rejects, reports): one group each, manual commits."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer

from battrace.settings import Settings


def group_consumer(settings: Settings, group_id: str, *topic_names: str, **options: Any) -> AIOKafkaConsumer:
    """A consumer that commits only what its stage finished, with the workers' group timeouts (a crashed member
    must leave the group while its successor joins: session < rebalance timeout, see processors/app.py)."""
    return AIOKafkaConsumer(
        *topic_names,
        bootstrap_servers=settings.kafka or "localhost:9092",
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        rebalance_timeout_ms=int(settings.rebalance_timeout_s * 1000),
        session_timeout_ms=int(settings.session_timeout_s * 1000),
        heartbeat_interval_ms=int(min(1.0, settings.session_timeout_s / 3) * 1000),
        **options,
    )
