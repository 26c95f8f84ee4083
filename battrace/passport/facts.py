"""The verified rows one battery's passport is assembled from, gathered only after its verification passed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class BatteryEvent:
    """One of the battery's sealed events, decoded from its verified ``events`` row."""

    kind: str
    time_ms: int
    body: Mapping[str, Any]
    event_id: str = ""  # what flags raised on the event point at


@dataclass(frozen=True)
class PassportFacts:
    """Everything a passport may show, each piece checked by ``battrace verify --battery`` (or, for the lots,
    recomputed from the lots' sealed events): nothing here comes from a row that was not compared first."""

    battery_id: str
    chain_length: int
    chain_head: str
    bundle: str  # where the battery's offline bundle is
    projection: Mapping[str, Any]  # its ``batteries`` row
    events: Sequence[BatteryEvent] = ()  # its sealed events, in chain order
    carbon_kg: Mapping[str, float] = field(default_factory=dict)  # stage -> kg CO2e of its carbon ledger lines
    audited: bool = False  # whether `battrace audit` results exist (footprint, recycled content, audit flags)
    footprint: Mapping[str, Any] | None = None  # its ``footprints`` row
    recycled: Sequence[Mapping[str, Any]] = ()  # its ``recycled_content`` rows, one per element
    flags: Sequence[Mapping[str, Any]] = ()  # its ``flags`` rows, stream and audit
    lots: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)  # lot id -> recomputed lot row
