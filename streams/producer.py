"""Producer SDK for MES, logistics, assay and registry sources: Avro single-object values on an
idempotent confluent-kafka producer."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from schemas.codec import encode
from streams.kafka import producer_config


class ProduceError(RuntimeError):
    pass


class EventProducer:
    """Sends events and counts deliveries; ``flush`` raises if any message could not be delivered."""

    def __init__(self, bootstrap: str, **overrides: Any) -> None:
        self._producer = Producer(producer_config(bootstrap, **overrides))
        self.delivered = 0
        self.failed: list[str] = []

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

    def send(
        self, topic: str, schema_name: str, record: dict[str, Any], key: str, timestamp_ms: int | None = None
    ) -> None:
        self.send_raw(topic, key.encode(), encode(schema_name, record), timestamp_ms)

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
