"""`battrace audit [--json]`: run the compliance audit over the sealed store and print what it found."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

_BY_MODEL = (
    "SELECT model, site_id, batteries, round(min_total_per_kwh, 4), round(avg_total_per_kwh, 4), "
    "round(max_total_per_kwh, 4) FROM battrace.footprint_by_model_plant ORDER BY site_id, model"
)
_RECYCLED = (
    "SELECT model, site_id, year, element, batteries, round(100 * declared_share, 2), declared_meets_2031, "
    "declared_meets_2036 FROM battrace.recycled_by_model_plant_year WHERE product_type = 'pack' "
    "ORDER BY site_id, model, year, element"
)

_EXCLUSIONS = (
    "SELECT reason, element, uniqExact(lot_id), uniqExact(battery_id), round(sum(excluded_kg), 3) "
    "FROM battrace.recycled_exclusions FINAL ARRAY JOIN reasons AS reason WHERE battery_id IN "
    "(SELECT battery_id FROM battrace.recycled_content FINAL WHERE product_type = 'pack') "
    "GROUP BY reason, element ORDER BY reason, element"
)


def _table(title: str, columns: list[str], rows: list) -> Table:
    table = Table(title=title)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*("—" if v is None else str(v) for v in r))
    return table


@click.command(name="audit")
@click.option("--json", "as_json", is_flag=True, help="print one JSON line with the counts")
def audit(as_json: bool) -> None:
    """Check licensed custody and lot eligibility, compute footprints and recycled content, write them back.

    Results go to the flags (categories custody, eligibility), lot_eligibility, footprints,
    recycled_content and recycled_exclusions tables (recycled mass a claim may not count, and why);
    re-running on the same data rewrites the same rows. Stop workers using an embedded store first
    (chDB opens in one process at a time).
    """
    from battrace.cli.common import open_store, settings_or_exit
    from battrace.compliance.audit import AuditParams, run_audit

    settings = settings_or_exit()
    client = open_store(settings)
    try:
        summary = run_audit(client, AuditParams.from_settings(settings))
        by_model = [] if as_json else client.query(_BY_MODEL).result_rows
        recycled = [] if as_json else client.query(_RECYCLED).result_rows
        excluded = [] if as_json else client.query(_EXCLUSIONS).result_rows
    finally:
        client.close()
    if as_json:
        click.echo(json.dumps(summary.to_json(), separators=(",", ":")))
        return
    console = Console()
    table = Table(title="battrace audit", show_header=False)
    table.add_row("custody steps checked", str(summary.steps_checked))
    for code, n in summary.custody_flags.items() or {"none": 0}.items():
        table.add_row(f"custody flags: {code}", str(n))
    table.add_row("lots", str(summary.lots))
    table.add_row("ineligible lots", str(summary.ineligible_lots))
    for code, n in summary.ineligible_by_code.items():
        table.add_row(f"  first gap: {code}", str(n))
    table.add_row("footprints (complete)", f"{summary.footprints} ({summary.complete_footprints})")
    table.add_row("recycled content rows", str(summary.recycled_rows))
    for code, n in summary.excluded_lots.items():
        table.add_row(f"  lots left out of claims: {code}", str(n))
    table.add_row("stale rows deleted", str(summary.stale_rows_deleted))
    table.add_row("elapsed", f"{summary.elapsed_s} s")
    console.print(table)
    console.print(
        _table(
            "kg CO2e per kWh of lifetime energy, by model and plant",
            ["model", "plant", "batteries", "min", "avg", "max"],
            by_model,
        )
    )
    console.print(
        _table(
            "recycled share of packs (%), by model, plant and year",
            ["model", "plant", "year", "element", "packs", "share %", "meets 2031", "meets 2036"],
            recycled,
        )
    )
    console.print(
        _table(
            "recycled mass left out of the packs' claims, by reason",
            ["reason", "element", "lots", "packs", "kg"],
            excluded,
        )
    )


if __name__ == "__main__":
    audit()
