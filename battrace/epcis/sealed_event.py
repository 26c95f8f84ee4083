"""A sealed event as the EPCIS mapping sees it: the decoded record and where it is sealed.

The mapping needs nothing from ClickHouse or Avro: battrace/epcis/sealed_reader.py reads and decodes, tests build
these from simulator events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Seal:
    """One row of ``sealed``: the event's place in one entity's chain and in its partition's log."""

    entity: str  # "<type>:<id>"
    seq: int
    chain_hash: str
    log_id: str
    log_index: int


@dataclass(frozen=True)
class SealedEvent:
    """A sealed source event: its contract, kind, decoded record, the SHA-256 of its canonical bytes (hex), seals."""

    schema: str
    kind: str
    record: dict[str, Any]
    event_hash: str
    seals: tuple[Seal, ...]
