"""The panel definitions: every drawn column is one the statement selects, and every table or view it reads is
created by the shipped DDL (a panel that names a missing view would fail only on a real store, or in Grafana)."""

from __future__ import annotations

import re

import pytest

from battrace.store.client import ddl_statements
from battrace.store.panels import PANELS, Panel

_CREATED = re.compile(r"^CREATE (?:TABLE|VIEW|OR REPLACE VIEW) (?:IF NOT EXISTS )?(battrace\.\w+)", re.MULTILINE)


def selected_columns(sql: str) -> list[str]:
    """The output names of a statement's select list: each item's alias, or the bare column."""
    select_list = sql.split("SELECT", 1)[1].split("\nFROM", 1)[0]
    items, depth, current = [], 0, ""
    for ch in select_list:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    items.append(current)
    return [re.split(r"\s+AS\s+", item.strip())[-1] for item in items]


def test_selected_columns_reads_aliases_and_bare_columns() -> None:
    sql = "SELECT\n    concat(a, ', ', b) AS ab,\n    count() AS n,\n    c\nFROM t"
    assert selected_columns(sql) == ["ab", "n", "c"]


def test_panel_ids_are_unique() -> None:
    ids = [p.id for p in PANELS]
    assert len(ids) == len(set(ids)) == 9


@pytest.mark.parametrize("panel", PANELS, ids=lambda p: p.id)
def test_every_drawn_column_is_selected(panel: Panel) -> None:
    columns = selected_columns(panel.sql)
    drawn = [panel.x, *panel.y, *panel.marks, *panel.volatile, *([panel.series] if panel.series else [])]
    assert set(drawn) <= set(columns), set(drawn) - set(columns)
    assert len(columns) == len(set(columns))
    if panel.series is not None:
        assert len(panel.y) == 1


@pytest.mark.parametrize("panel", PANELS, ids=lambda p: p.id)
def test_every_table_a_panel_reads_is_created_by_the_ddl(panel: Panel) -> None:
    created = {m for s in ddl_statements() for m in _CREATED.findall(s)}
    read = set(re.findall(r"\bFROM (battrace\.\w+)", panel.sql))
    assert read and read <= created, read - created


def test_panels_cover_what_analysts_asked_for() -> None:
    ids = {p.id for p in PANELS}
    assert {"carbon_per_kwh", "recycled_content", "lot_eligibility", "custody_flags", "rejects_over_time"} <= ids
    assert {"transit_by_lane", "dwell_by_hub", "sealed_per_minute", "checkpoint_health"} <= ids


def test_operational_panels_are_not_labelled_verified() -> None:
    """Rejects are not sealed, and seal and checkpoint times are not signed: `verify` cannot vouch for them."""
    unverified = {p.id for p in PANELS if not p.verified}
    assert unverified == {"rejects_over_time", "sealed_per_minute", "checkpoint_health"}
