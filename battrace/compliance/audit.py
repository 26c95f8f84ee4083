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

from battrace.compliance import eligibility, footprints, recycled_audit
from battrace.compliance.custody_audit import CATEGORY as CUSTODY
from battrace.compliance.custody_audit import check_steps, custody_flag_rows
from battrace.compliance.registry import load_registry
from battrace.compliance.steps import load_steps
from battrace.compliance.tables import replace_rows

FLAG_COLUMNS = ("entity_type", "entity_id", "category", "code", "detail", "event_id", "seq", "event_time")
FLAG_KEY = ("entity_type", "entity_id", "category", "code", "event_id")


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
    lots: int = 0
    ineligible_lots: int = 0
    ineligible_by_code: dict[str, int] = field(default_factory=dict)  # by the lot's first gap code
    footprints: int = 0
    complete_footprints: int = 0
    recycled_rows: int = 0
    stale_rows_deleted: int = 0
    elapsed_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def run_audit(client: Client, params: AuditParams | Any = None) -> AuditSummary:
    """Compute every audit table from the store and write them; ``params`` is AuditParams or a Settings."""
    from battrace.store.client import apply_ddl

    started = time.monotonic()
    p = params if isinstance(params, AuditParams) else AuditParams.from_settings(params)
    apply_ddl(client)  # a store made before 003_compliance.sql gets the audit tables
    checked = check_steps(load_steps(client), load_registry(client))
    custody_rows = custody_flag_rows(checked)
    lot_rows, lot_flags, verdicts = eligibility.compute_eligibility(client, checked)
    fp_rows = footprints.compute_footprints(client, p.service_years, p.cycles_overrides)
    rc_rows = recycled_audit.compute_recycled(client)

    scope = f"category IN ('{CUSTODY}', '{eligibility.CATEGORY}')"
    deleted = replace_rows(client, "flags", FLAG_KEY, custody_rows + lot_flags, FLAG_COLUMNS, scope, ("event_time",))
    deleted += replace_rows(client, "lot_eligibility", ("lot_id",), lot_rows, eligibility.COLUMNS)
    deleted += replace_rows(client, "footprints", ("battery_id",), fp_rows, footprints.COLUMNS)
    deleted += replace_rows(
        client, "recycled_content", ("battery_id", "element"), rc_rows, recycled_audit.COLUMNS, times=("produced_at",)
    )
    return AuditSummary(
        steps_checked=len(checked),
        custody_flags=dict(sorted(Counter(r["code"] for r in custody_rows).items())),
        lots=len(lot_rows),
        ineligible_lots=sum(not v.eligible for v in verdicts),
        ineligible_by_code=dict(sorted(Counter(r["code"] for r in lot_flags).items())),
        footprints=len(fp_rows),
        complete_footprints=sum(r["complete"] for r in fp_rows),
        recycled_rows=len(rc_rows),
        stale_rows_deleted=deleted,
        elapsed_s=round(time.monotonic() - started, 2),
    )
