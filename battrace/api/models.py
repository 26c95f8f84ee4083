"""Response bodies of the API, so that OpenAPI documents every field a client can rely on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Problem(BaseModel):
    """Body of every error answer: a stable machine-readable ``error`` plus a message for people."""

    error: str = Field(description="machine-readable code, e.g. invalid_battery_code, not_found, bad_bundle")
    message: str = Field(description="what is wrong and, where possible, how to fix it")
    detail: dict[str, Any] | None = Field(None, description="structured facts about the problem")


class BatteryRecord(BaseModel):
    """The current projection of a battery (table ``battrace.batteries``); later columns are passed through."""

    model_config = ConfigDict(extra="allow")

    battery_id: str = Field(description="24-character GB/T 34014 code")
    product_type: str | None = Field(None, description="cell, module or pack")
    chemistry: str | None = None
    model: str | None = None
    capacity_ah: float | None = None
    energy_kwh: float | None = None
    mass_kg: float | None = None
    certification: str | None = None
    site_id: str | None = None
    phase: str | None = Field(None, description="lifecycle phase, e.g. manufacturing, in_use, end_of_life")
    status: str | None = None
    parent_id: str | None = Field(None, description="module or pack this battery was assembled into")
    children: list[str] = Field(default_factory=list)
    lots: list[str] = Field(default_factory=list, description="material lots consumed")
    vin: str | None = None
    vehicle_category: str | None = None
    last_event: str | None = None
    updated_at: datetime | None = None
    version: int | None = Field(None, description="chain seq of the event that produced this projection")


class StageCarbon(BaseModel):
    stage: str = Field(description="raw_material | production | distribution | end_of_life")
    kg_co2e: float
    lines: int = Field(description="carbon ledger lines summed")


class ChainSummary(BaseModel):
    length: int = Field(description="sealed records in the battery's chain (its highest seq)")
    head: str | None = Field(None, description="chain_hash of the last record")
    latest_sealed_at: datetime | None = None


class Flag(BaseModel):
    """A rule an accepted event broke, recorded on the battery rather than applied silently."""

    category: str
    code: str
    detail: str
    event_id: str
    event_time: datetime | None = None


class Passport(BaseModel):
    battery_id: str
    battery: BatteryRecord | None = Field(None, description="None while no event has projected the battery yet")
    carbon: list[StageCarbon] = Field(description="kg CO2e per lifecycle stage, from the carbon ledger")
    carbon_total_kg_co2e: float
    chain: ChainSummary
    flags: list[Flag]


class SealedRecord(BaseModel):
    """One row of ``battrace.sealed`` with the kind and time of the event it seals."""

    entity_type: str
    entity_id: str
    seq: int
    event_id: str
    kind: str | None = Field(None, description="event type, e.g. CellProduced")
    event_time: datetime | None = None
    event_hash: str = Field(description="hex SHA-256 of the event's canonical bytes")
    prev_hash: str
    chain_hash: str = Field(description="SHA-256(prev_hash || event_hash || seq as 8-byte big-endian)")
    log_id: str
    log_index: int
    sealed_at: datetime


class Chain(BaseModel):
    battery_id: str
    records: list[SealedRecord] = Field(description="in seq order, starting at 1")


class Failure(BaseModel):
    entity: str = Field(description="entity_type:entity_id, or a log id")
    seq: int | None = None
    problem: str


class BatteryVerification(BaseModel):
    """Server-side recomputation of one battery's chain, log entries, inclusion proofs and checkpoints."""

    battery_id: str
    ok: bool
    checked: int = Field(description="chains checked")
    failures: list[Failure]
    trusted_keys: list[str] = Field(description="verifier keys the checkpoints were checked against")


class BundleVerification(BaseModel):
    """Offline-style check of an uploaded bundle, against this deployment's keys (never the bundle's own)."""

    subject: str = Field(description="entity_type:entity_id the bundle claims to cover")
    ok: bool
    checked: int = Field(description="records checked")
    trust: str = Field(description="'pinned': checkpoints were checked against this server's verifier keys")
    trusted_keys: list[str]
    checkpoints: dict[str, int] = Field(description="log id -> checkpoint size the records were proven against")
    report: dict[str, Any] | None = Field(
        None,
        description="a consignment's report as its sealed records compose it: certified (against this server's "
        "pinned report keys), verified roles, problems, refusals, missing fields",
    )
    failures: list[Failure]


class LogHead(BaseModel):
    """The latest signed checkpoint of one log."""

    log_id: str = Field(description="the checkpoint's origin line")
    size: int
    root: str = Field(description="hex RFC 6962 root hash")
    key_id: str = Field(description="hex key ids of the signers")
    created_at: datetime
    signed_by: list[str] = Field(
        default_factory=list,
        description="hex key ids of this server's trusted keys whose signatures on the checkpoint verify",
    )


class ConsistencyProof(BaseModel):
    """RFC 9162 consistency proof that the log at ``first`` entries is a prefix of the log at ``second``.

    A verifier holding a signed checkpoint of size ``first`` checks the proof against its own root and the
    root of a newer signed checkpoint (GET /logs/{log_id}/checkpoint): the log only grew in between.
    """

    log_id: str = Field(description="the log's origin line")
    first: int = Field(description="the older tree size")
    second: int = Field(description="the newer tree size, at most the latest signed checkpoint's")
    first_root: str = Field(description="hex RFC 6962 root of the first `first` entries, as stored")
    second_root: str = Field(description="hex RFC 6962 root of the first `second` entries, as stored")
    proof: list[str] = Field(description="hex hashes of PROOF(first, D[second]) (RFC 9162 §2.1.4), in order")
