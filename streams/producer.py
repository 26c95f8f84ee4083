"""Producer SDK for MES, logistics, assay and registry sources: Avro values on an idempotent confluent-kafka
producer.

Framing follows BATTRACE_SCHEMA_REGISTRY_URL. Without a registry, values are Avro single-object encoded (the
fingerprint says which schema wrote them). With one, confluent-kafka's own ``AvroSerializer`` registers the writer
schema under the topic's value subject (Confluent's TopicNameStrategy) and frames values with its id: one serializer
per schema, each registering once. A source that writes with a newer schema than the shipped contract passes it as
``writer_schemas``; ingest resolves it onto the contract (schemas/writers.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from battrace.settings import Settings, get_settings
from schemas.catalog import Contract, contract
from schemas.codec import encode_with
from schemas.registry import registry_config
from streams.kafka import producer_config


class ProduceError(RuntimeError):
    pass


class EventProducer:
    """Sends events and counts deliveries; ``flush`` raises if any message could not be delivered.

    ``registry_url``: None = BATTRACE_SCHEMA_REGISTRY_URL, "" = no registry (single-object framing).
    ``writer_schemas``: the schemas this source writes with, by contract name; the shipped contracts otherwise.
    ``settings``: the Kafka security and registry credentials to use; the environment's otherwise."""

    def __init__(
        self,
        bootstrap: str,
        registry_url: str | None = None,
        writer_schemas: Mapping[str, Contract] | None = None,
        *,
        settings: Settings | None = None,
        **overrides: Any,
    ) -> None:
        settings = settings or get_settings()
        self._producer = Producer(producer_config(bootstrap, settings, **overrides))
        self.delivered = 0
        self.failed: list[str] = []
        url = settings.schema_registry_url if registry_url is None else registry_url
        self._registry = SchemaRegistryClient(registry_config(url, settings)) if url else None
        self._writers = dict(writer_schemas or {})
        self._serializers: dict[str, AvroSerializer] = {}

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.delivered += 1
        else:
            self.failed.append(f"{msg.topic()}: {err}")

    def send_raw(self, topic: str, key: bytes | None, value: bytes, timestamp_ms: int | None = None) -> None:
        kwargs: dict[str, Any] = {"timestamp": timestamp_ms} if timestamp_ms is not None else {}
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, on_delivery=self._on_delivery, **kwargs)
                break
            except BufferError:  # local queue full: let librdkafka drain, then retry
                self._producer.poll(0.05)
        self._producer.poll(0)

    def encode(self, topic: str, schema_name: str, record: dict[str, Any]) -> bytes:
        """The value bytes of a record, framed as this producer frames them."""
        writer = self._writers.get(schema_name) or contract(schema_name)
        if self._registry is None:
            return encode_with(writer, record)
        serializer = self._serializers.get(schema_name)
        if serializer is None:
            serializer = self._serializers[schema_name] = AvroSerializer(self._registry, json.dumps(writer.raw))
        value = serializer(record, SerializationContext(topic, MessageField.VALUE))
        assert value is not None  # only a None record serializes to None
        return value

    def send(
        self, topic: str, schema_name: str, record: dict[str, Any], key: str, timestamp_ms: int | None = None
    ) -> None:
        self.send_raw(topic, key.encode(), self.encode(topic, schema_name, record), timestamp_ms)

    def flush(self, timeout_s: float = 60) -> None:
        remaining = self._producer.flush(timeout_s)
        if remaining:
            raise ProduceError(f"{remaining} messages still undelivered after {timeout_s:.0f} s")
        if self.failed:
            raise ProduceError(f"{len(self.failed)} messages failed, first: {self.failed[0]}")

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if et is None:
            self.flush()
