"""Avro framing: single-object encoding (default, no registry) and the Confluent wire format.

Writer schemas are resolved once per fingerprint or registry id and cached; decoding resolves
the writer's schema onto the contract battrace ships, so every event has one canonical encoding.
"""

from __future__ import annotations

import io
import json
import urllib.request
from dataclasses import dataclass
from typing import Any

import fastavro
from fastavro.read import SchemaResolutionError

from schemas.catalog import Contract, by_fingerprint, contract, contracts, parse_contract

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"


class CodecError(ValueError):
    """A payload that cannot be decoded; ``reason`` is machine-readable."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Decoded:
    schema: str  # full name of the battrace contract the record was resolved onto
    record: dict[str, Any]


def encode(schema_name: str, record: dict[str, Any]) -> bytes:
    """Avro single-object encoding: C3 01, 8-byte CRC-64-AVRO fingerprint, binary body."""
    c = contract(schema_name)
    buf = io.BytesIO()
    buf.write(SINGLE_OBJECT_MAGIC)
    buf.write(c.fingerprint)
    fastavro.schemaless_writer(buf, c.parsed, record)
    return buf.getvalue()


def encode_confluent(schema_id: int, schema_name: str, record: dict[str, Any]) -> bytes:
    """Confluent wire format: 00, 4-byte big-endian schema id, binary body."""
    buf = io.BytesIO()
    buf.write(CONFLUENT_MAGIC)
    buf.write(schema_id.to_bytes(4, "big"))
    fastavro.schemaless_writer(buf, contract(schema_name).parsed, record)
    return buf.getvalue()


class RegistryClient:
    """Fetches writer schemas by id from a Confluent Schema Registry (cached by the decoder)."""

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    def schema(self, schema_id: int) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/schemas/ids/{schema_id}", timeout=self.timeout_s) as resp:
            return json.loads(json.loads(resp.read())["schema"])


class Decoder:
    """Decodes both framings onto the shipped contracts; parsed writer schemas are cached."""

    def __init__(self, registry: RegistryClient | None = None) -> None:
        self._registry = registry
        self._confluent: dict[int, Contract] = {}

    def register_confluent(self, schema_id: int, writer_schema: dict[str, Any]) -> None:
        """Make a Confluent schema id known without a registry round trip."""
        self._confluent[schema_id] = parse_contract(writer_schema)

    def decode(self, data: bytes) -> Decoded:
        if data[:2] == SINGLE_OBJECT_MAGIC:
            if len(data) < 10:
                raise CodecError("bad_framing", f"single-object header truncated ({len(data)} bytes)")
            writer = by_fingerprint().get(bytes(data[2:10]))
            if writer is None:
                raise CodecError("unknown_schema", f"fingerprint {bytes(data[2:10]).hex()} is not a known contract")
            return self._read(data, 10, writer)
        if data[:1] == CONFLUENT_MAGIC:
            if len(data) < 5:
                raise CodecError("bad_framing", f"Confluent header truncated ({len(data)} bytes)")
            return self._read(data, 5, self._confluent_writer(int.from_bytes(data[1:5], "big")))
        raise CodecError("bad_framing", f"unknown magic byte(s) {bytes(data[:2]).hex() or '(empty)'}")

    def _confluent_writer(self, schema_id: int) -> Contract:
        writer = self._confluent.get(schema_id)
        if writer is None:
            if self._registry is None:
                raise CodecError("unknown_schema", f"Confluent schema id {schema_id} (no registry configured)")
            try:
                self.register_confluent(schema_id, self._registry.schema(schema_id))
            except Exception as exc:  # the registry's answer is outside our control
                raise CodecError("unknown_schema", f"Confluent schema id {schema_id}: {exc}") from exc
            writer = self._confluent[schema_id]
        return writer

    @staticmethod
    def _read(data: bytes, offset: int, writer: Contract) -> Decoded:
        reader = contracts().get(writer.name)
        if reader is None:
            raise CodecError("unknown_schema", f"{writer.name} is not a battrace contract")
        buf = io.BytesIO(data)
        buf.seek(offset)
        try:
            record = fastavro.schemaless_reader(
                buf, writer.parsed, reader.parsed if reader is not writer else None, return_record_name=True
            )
        except SchemaResolutionError as exc:
            raise CodecError("unknown_schema", f"writer schema does not resolve onto {writer.name}: {exc}") from exc
        except Exception as exc:  # fastavro raises many types on garbage input
            raise CodecError("undecodable", f"{type(exc).__name__}: {exc}") from exc
        if buf.tell() != len(data):
            raise CodecError("undecodable", f"{len(data) - buf.tell()} trailing bytes after the record")
        return Decoded(schema=writer.name, record=record)


def canonical_bytes(schema_name: str, record: dict[str, Any]) -> bytes:
    """The one encoding an event is hashed over: single-object encoding under the shipped contract."""
    return encode(schema_name, record)
