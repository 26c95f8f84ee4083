"""The Avro contracts shipped with battrace, parsed once and indexed by name and fingerprint."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

from battrace.domain.sources import ASSAY_RESULT, LICENSED_ENTITY, LOGISTICS_EVENT, MES_EVENT, REPORT_EVENT

_FILES = {
    MES_EVENT: "mes_event.avsc",
    LOGISTICS_EVENT: "logistics_event.avsc",
    ASSAY_RESULT: "assay_result.avsc",
    LICENSED_ENTITY: "registry_entity.avsc",
    REPORT_EVENT: "report_event.avsc",
}


@dataclass(frozen=True)
class Contract:
    """One parsed schema with the identity Avro single-object encoding puts on the wire."""

    name: str
    parsed: Any
    fingerprint: bytes  # CRC-64-AVRO of the Parsing Canonical Form, little-endian as on the wire
    # the schema as written (defaults, docs, logical types): what compatibility checks and registries need
    raw: Any = field(default=None, compare=False, repr=False)

    @property
    def fingerprint_hex(self) -> str:
        return self.fingerprint.hex()


def crc64_fingerprint(schema: Any) -> bytes:
    """8-byte little-endian CRC-64-AVRO fingerprint, as the single-object header carries it."""
    # fastavro's hex string already lists the bytes in wire (little-endian) order.
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))


def _without_logical_types(node: Any) -> Any:
    """Timestamps stay epoch-millisecond ints in Python: cheaper, and exact for hashing.

    The Parsing Canonical Form ignores logicalType, so fingerprints are unchanged.
    """
    if isinstance(node, dict):
        return {k: _without_logical_types(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [_without_logical_types(v) for v in node]
    return node


def parse_contract(raw: dict[str, Any]) -> Contract:
    parsed = fastavro.parse_schema(_without_logical_types(raw))
    return Contract(name=parsed["name"], parsed=parsed, fingerprint=crc64_fingerprint(parsed), raw=raw)


def shipped_text(filename: str) -> str:
    """The text of a shipped ``.avsc`` file (the packaged copy), by file name."""
    return resources.files("schemas").joinpath(filename).read_text()


def shipped_files() -> tuple[str, ...]:
    """The file names of the shipped contracts."""
    return tuple(_FILES.values())


@cache
def contracts() -> dict[str, Contract]:
    """All shipped contracts by full name."""
    out: dict[str, Contract] = {}
    for name, filename in _FILES.items():
        out[name] = parse_contract(json.loads(shipped_text(filename)))
    return out


def contract(name: str) -> Contract:
    return contracts()[name]


@cache
def by_fingerprint() -> dict[bytes, Contract]:
    return {c.fingerprint: c for c in contracts().values()}
