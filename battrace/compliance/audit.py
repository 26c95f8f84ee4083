"""`battrace audit`: custody, eligibility, footprints and recycled content over the sealed store, written back.

Run it when no worker holds the store (chDB) or against a server. The results are a pure function of the
data: each table in scope is made equal to what this run computes (``tables.replace_rows``), so re-running
on the same data writes the same rows and leaves no duplicates, and a verdict that changed with new data
replaces the old one.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.compliance import eligibility, footprints, genealogy_audit, recycled_audit
from battrace.compliance.custody_audit import CATEGORY as CUSTODY
from battrace.compliance.custody_audit import CheckedStep, check_steps, custody_flag_rows
from battrace.compliance.registry import load_registry
from battrace.compliance.steps import load_steps
from battrace.compliance.tables import replace_rows
from battrace.domain.custody import Eligibility
from battrace.store.logs import log_sizes

FLAG_COLUMNS = ("entity_type", "entity_id", "category", "code", "detail", "event_id", "seq", "event_time")
FLAG_KEY = ("entity_type", "entity_id", "category", "code", "event_id")
CATEGORIES = (CUSTODY, eligibility.CATEGORY, genealogy_audit.CATEGORY)  # the audit's flags; the worker raises the rest
AUDIT_TABLES = ("lot_eligibility", "footprints", "recycled_content")  # any row in them: the audit ran
CLAIM_TABLE = "recycled_exclusions"  # written by every audit since recycled-content claims list their exclusions


@dataclass(frozen=True)
class AuditParams:
    service_years: float = footprints.DEFAULT_SERVICE_YEARS
    cycles_overrides: Mapping[str, float] | None = None  # vehicle category -> full-equivalent cycles per year

    @classmethod
    def from_settings(cls, settings: Any) -> AuditParams:
        return cls(service_years=float(getattr(settings, "service_years", footprints.DEFAULT_SERVICE_YEARS)))


@dataclass
class AuditSummary:
    steps_checked: int = 0
    custody_flags: dict[str, int] = field(default_factory=dict)  # flag rows by code
    genealogy_cycles: int = 0  # entities on a cycle of the genealogy
    lots: int = 0
    ineligible_lots: int = 0
    ineligible_by_code: dict[str, int] = field(default_factory=dict)  # by the lot's first gap code
    footprints: int = 0
    complete_footprints: int = 0
    recycled_rows: int = 0
    recycled_exclusions: dict[str, int] = field(default_factory=dict)  # (battery, element, lot) rows by reason code
    excluded_lots: dict[str, int] = field(default_factory=dict)  # distinct lots excluded from claims, by reason code
    stale_rows_deleted: int = 0
    elapsed_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AuditRows:
    """What the audit computes, before anything is written: the rows of each table it owns, and its verdicts."""

    checked: list[CheckedStep]
    custody_flags: list[dict[str, Any]]
    lot_flags: list[dict[str, Any]]
    lot_eligibility: list[dict[str, Any]]
    verdicts: list[Eligibility]
    footprints: list[dict[str, Any]]
    recycled_content: list[dict[str, Any]]
    recycled_exclusions: list[dict[str, Any]] = field(default_factory=list)
    cycle_flags: list[dict[str, Any]] = field(default_factory=list)

    @property
    def flags(self) -> list[dict[str, Any]]:
        return self.custody_flags + self.lot_flags + self.cycle_flags


def compute_audit(client: Client, params: AuditParams | Any = None) -> AuditRows:
    """Every audit row, computed from the store and written nowhere (``battrace verify`` compares them with the
    stored ones; ``run_audit`` writes them); ``params`` is AuditParams or a Settings."""
    p = params if isinstance(params, AuditParams) else AuditParams.from_settings(params)
    checked = check_steps(load_steps(client), load_registry(client))
    lot_rows, lot_flags, verdicts = eligibility.compute_eligibility(client, checked)
    content, excluded = recycled_audit.compute_recycled(client, verdicts)
    return AuditRows(
        checked=checked,
        custody_flags=custody_flag_rows(checked),
        lot_flags=lot_flags,
        lot_eligibility=lot_rows,
        verdicts=verdicts,
        footprints=footprints.compute_footprints(client, p.service_years, p.cycles_overrides),
        recycled_content=content,
        recycled_exclusions=excluded,
        cycle_flags=genealogy_audit.cycle_flag_rows(genealogy_audit.load_edges(client)),
    )


def _lots_by_reason(excluded: list[dict[str, Any]]) -> dict[str, set[str]]:
    """reason code -> the lots a claim left out for it (a lot excluded from many batteries counts once)."""
    lots: dict[str, set[str]] = {}
    for r in excluded:
        for code in r["reasons"]:
            lots.setdefault(code, set()).add(r["lot_id"])
    return dict(sorted(lots.items()))


def _rows_by_reason(excluded: list[dict[str, Any]]) -> dict[str, int]:
    return dict(sorted(Counter(code for r in excluded for code in r["reasons"]).items()))


def run_audit(client: Client, params: AuditParams | Any = None) -> AuditSummary:
    """Compute every audit table from the store and write them; ``params`` is AuditParams or a Settings."""
    from battrace.store.client import apply_ddl

    started = time.monotonic()
    apply_ddl(client)  # a store made before 003_compliance.sql gets the audit tables
    sizes = log_sizes(client)  # what the audit reads; a worker may not write meanwhile (chDB) or only appends
    found = compute_audit(client, params)
    scope = f"category IN ({', '.join(repr(c) for c in CATEGORIES)})"
    deleted = replace_rows(client, "flags", FLAG_KEY, found.flags, FLAG_COLUMNS, scope, ("event_time",))
    deleted += replace_rows(client, "lot_eligibility", ("lot_id",), found.lot_eligibility, eligibility.COLUMNS)
    deleted += replace_rows(client, "footprints", ("battery_id",), found.footprints, footprints.COLUMNS)
    deleted += replace_rows(
        client,
        "recycled_content",
        ("battery_id", "element"),
        found.recycled_content,
        recycled_audit.COLUMNS,
        times=("produced_at",),
    )
    deleted += replace_rows(
        client,
        "recycled_exclusions",
        recycled_audit.EXCLUSION_KEY,
        found.recycled_exclusions,
        recycled_audit.EXCLUSION_COLUMNS,
    )
    client.insert("battrace.audit_runs", [[round(time.time() * 1000), sizes]], column_names=["run_at", "log_sizes"])
    fp_rows = found.footprints
    return AuditSummary(
        steps_checked=len(found.checked),
        custody_flags=dict(sorted(Counter(r["code"] for r in found.custody_flags).items())),
        genealogy_cycles=len(found.cycle_flags),
        lots=len(found.lot_eligibility),
        ineligible_lots=sum(not v.eligible for v in found.verdicts),
        ineligible_by_code=dict(sorted(Counter(r["code"] for r in found.lot_flags).items())),
        footprints=len(fp_rows),
        complete_footprints=sum(r["complete"] for r in fp_rows),
        recycled_rows=len(found.recycled_content),
        recycled_exclusions=_rows_by_reason(found.recycled_exclusions),
        excluded_lots={code: len(lots) for code, lots in _lots_by_reason(found.recycled_exclusions).items()},
        stale_rows_deleted=deleted,
        elapsed_s=round(time.monotonic() - started, 2),
    )
