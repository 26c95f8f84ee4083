"""Avro framing: single-object encoding (default, no registry) and the Confluent wire format.

Writer schemas are resolved once per fingerprint or registry id and cached; decoding resolves
the writer's schema onto the contract battrace ships, so every event has one canonical encoding.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import fastavro
from fastavro.read import SchemaResolutionError

from schemas.catalog import Contract, contract
from schemas.writers import Writer, WriterCatalogue

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
    """Avro single-object encoding under the shipped contract: C3 01, 8-byte CRC-64-AVRO fingerprint, binary body."""
    return encode_with(contract(schema_name), record)


def encode_with(c: Contract, record: dict[str, Any]) -> bytes:
    """Avro single-object encoding under any schema (a producer's own, newer one)."""
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


class Decoder:
    """Decodes both framings onto the shipped contracts, through a catalogue of writer schemas (schemas/writers.py).

    A writer schema that is not the shipped contract is resolved onto it with fastavro's schema resolution
    (``schemaless_reader(buf, writer, reader)``): the record has the contract's fields, defaults filled in, and the
    writer's extra fields dropped, so everything downstream sees one shape per contract."""

    def __init__(self, catalogue: WriterCatalogue | None = None) -> None:
        self.catalogue = catalogue or WriterCatalogue()

    def register_confluent(self, schema_id: int, writer_schema: dict[str, Any]) -> None:
        """Make a Confluent schema id known without a registry round trip."""
        self.catalogue.add_id(schema_id, writer_schema)

    def decode(self, data: bytes) -> Decoded:
        """Raises CodecError for a message that cannot be read, and schemas.registry.RegistryUnavailable when the
        registry that could say does not answer (no verdict on the message: the caller retries it later)."""
        if data[:2] == SINGLE_OBJECT_MAGIC:
            if len(data) < 10:
                raise CodecError("bad_framing", f"single-object header truncated ({len(data)} bytes)")
            fingerprint = bytes(data[2:10])
            writer = self.catalogue.by_fingerprint(fingerprint)
            if writer is None:
                raise CodecError("unknown_schema", f"fingerprint {fingerprint.hex()} is not a known writer schema")
            return self._read(data, 10, writer)
        if data[:1] == CONFLUENT_MAGIC:
            if len(data) < 5:
                raise CodecError("bad_framing", f"Confluent header truncated ({len(data)} bytes)")
            schema_id = int.from_bytes(data[1:5], "big")
            writer = self.catalogue.by_id(schema_id)
            if writer is None:
                where = "no registry configured" if self.catalogue.registry is None else "not in the registry"
                raise CodecError("unknown_schema", f"Confluent schema id {schema_id} ({where})")
            return self._read(data, 5, writer)
        raise CodecError("bad_framing", f"unknown magic byte(s) {bytes(data[:2]).hex() or '(empty)'}")

    @staticmethod
    def _read(data: bytes, offset: int, writer: Writer) -> Decoded:
        reader = writer.reader
        if reader is None:
            raise CodecError("unknown_schema", f"{writer.schema.name} is not a battrace contract")
        if writer.problems:
            raise CodecError(
                "incompatible_schema",
                f"writer schema {writer.schema.fingerprint_hex} of {reader.name}: " + "; ".join(writer.problems[:5]),
            )
        buf = io.BytesIO(data)
        buf.seek(offset)
        try:
            record = fastavro.schemaless_reader(
                buf,
                writer.schema.parsed,
                None if writer.same_as_reader else reader.parsed,
                return_record_name=True,
            )
        except SchemaResolutionError as exc:
            detail = f"writer schema does not resolve onto {reader.name}: {exc}"
            raise CodecError("incompatible_schema", detail) from exc
        except Exception as exc:  # fastavro raises many types on garbage input
            raise CodecError("undecodable", f"{type(exc).__name__}: {exc}") from exc
        if buf.tell() != len(data):
            raise CodecError("undecodable", f"{len(data) - buf.tell()} trailing bytes after the record")
        return Decoded(schema=reader.name, record=record)


def canonical_bytes(schema_name: str, record: dict[str, Any]) -> bytes:
    """The one encoding an event is hashed over: single-object encoding under the shipped contract.

    Not the producer's bytes: a record decoded from a newer writer schema (or from Confluent framing) is re-encoded
    under the contract it was resolved onto. So the sealed ``event_hash`` covers exactly the fields battrace reads and
    stores, a replay of the same message seals the same bytes whichever framing or compatible writer schema brought
    it, and `battrace verify` (battrace/store/event_rows.py, battrace/verify/derived.py) decodes every stored
    canonical event with the shipped contracts alone, no registry and no schema directory. What the writer added
    beyond the contract is not sealed: it is not part of any derived row either."""
    return encode(schema_name, record)
