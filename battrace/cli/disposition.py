"""`battrace disposition LOT`: the disposition report of a recycled batch, linked back to its origin vehicles."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.table import Table

from battrace.cli.known_errors import FixableError

EXIT_INELIGIBLE = 1


def _iso(ms: int | None) -> str:
    return "-" if ms is None else f"{datetime.fromtimestamp(ms / 1000, UTC):%Y-%m-%dT%H:%M:%S}Z"


@click.command(name="disposition")
@click.argument("lot_id")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def disposition(lot_id: str, as_json: bool) -> None:
    """Report a recycled batch (a recovered lot): the packs its material came from with their origin vehicles (VINs),
    collection transporter licences, dismantling dates and receiving facilities, and the batch's disposition.

    Computed from the sealed events' rows (`battrace verify --all` recomputes them). Exits 0 when every link holds,
    1 when the batch is ineligible (the reasons name the lot or pack and the missing link), 2 for a lot that is no
    recycled batch in the store.
    """
    from battrace.cli.common import open_store, settings_or_exit
    from battrace.compliance.disposition import disposition_report
    from battrace.domain.disposition import NotRecycled

    client = open_store(settings_or_exit())
    try:
        found = disposition_report(client, lot_id)
    except NotRecycled:
        raise FixableError(
            f"no recycled batch {lot_id!r} in the store (no Recycled event outputs it): list them with battrace query "
            '"SELECT DISTINCT lot_id FROM battrace.lots FINAL WHERE recovered"'
        ) from None
    finally:
        client.close()
    result = found.to_json()
    if as_json:
        click.echo(json.dumps(result, separators=(",", ":")))
    else:
        _print(result)
    if not found.eligible:
        raise SystemExit(EXIT_INELIGIBLE)


def _print(result: dict) -> None:
    console = Console()
    verdict = "[green]eligible[/]" if result["eligible"] else "[red]INELIGIBLE[/]"
    console.print(f"recycled batch [cyan]{result['lot_id']}[/]: {verdict}; {result['disposition']}")
    console.print(f"recycled at {_iso(result['recycled_at_ms'])}; origin vehicles: {', '.join(result['vins']) or '-'}")
    table = Table(title="packs whose black mass went into the batch")
    for col in ("pack", "VIN", "collected", "transporter licence", "dismantled", "receiving facility", "black mass"):
        table.add_column(col, overflow="fold")
    for p in result["packs"]:
        table.add_row(
            p["battery_id"],
            p["vin"] or "-",
            _iso(p["collected_at_ms"]),
            p["transporter_licence"] or "-",
            _iso(p["dismantled_at_ms"]),
            p["receiving_facility"] or "-",
            p["black_mass_lot"],
        )
    console.print(table)
    for reason in result["reasons"]:
        console.print(f"[red]ineligible:[/] {reason}")
