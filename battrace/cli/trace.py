"""`battrace trace`: genealogy both ways — which batteries contain lot X, which lots, smelters and mines are in Y."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.table import Table


@click.command(name="trace")
@click.option("--lot", "lot_id", help="material lot id: list every battery that contains material from it")
@click.option("--battery", "battery_id", help="GB/T 34014 code: list its lots, smelters and mines")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def trace(lot_id: str | None, battery_id: str | None, as_json: bool) -> None:
    """Follow the genealogy (lots -> cells -> modules -> packs, packs -> black mass -> recovered lots, an original pack
    -> the code of its second life, shown under both codes).

    Exits 2 if --battery is not a GB/T 34014 code, 1 if the store holds no record of the battery or lot.
    """
    if bool(lot_id) == bool(battery_id):
        raise click.UsageError("give exactly one of --lot ID or --battery CODE")
    from battrace.cli.common import open_store, settings_or_exit
    from battrace.cli.entity_ids import check_battery_code, require_in_store
    from battrace.compliance.materials import batteries_with_lot
    from battrace.domain.entities import BATTERY, LOT

    if battery_id:
        check_battery_code(battery_id)
    client = open_store(settings_or_exit())
    try:
        require_in_store(client, *((LOT, lot_id) if lot_id else (BATTERY, battery_id or "")))
        if lot_id:
            batteries = batteries_with_lot(client, lot_id)
            result: dict[str, object] = {"lot": lot_id, "batteries": batteries}
            if not batteries:
                result["note"] = "no battery contains material from this lot"
        else:
            result = _battery(client, battery_id or "")
    finally:
        client.close()
    if as_json:
        click.echo(json.dumps(result, separators=(",", ":"), default=str))
        return
    console = Console()
    if lot_id:
        console.print(f"lot [cyan]{lot_id}[/] is in {len(result['batteries'])} batteries")  # type: ignore[arg-type]
        for b in result["batteries"]:  # type: ignore[union-attr]
            console.print(f"  {b}")
        return
    table = Table(title=f"material in battery {battery_id}")
    for col in ("lot", "cells", "kg", "product", "smelter", "mines", "country", "upstream of"):
        table.add_column(col, overflow="fold")
    keys = ("lot_id", "cells", "kg", "product", "smelter_id", "mines", "country", "upstream_of")
    for row in result["lots"]:  # type: ignore[union-attr]
        table.add_row(*(str(row[k]) for k in keys))
    console.print(table)
    console.print(f"smelters: {', '.join(result['smelters']) or '-'}; mines: {', '.join(result['mines']) or '-'}")  # type: ignore[arg-type]
    second_life: dict = result["second_life"]  # type: ignore[assignment]
    for side, words in (("repurposed_from", "repurposed from"), ("repurposed_as", "repurposed as")):
        for link in second_life[side]:
            console.print(
                f"{words} [cyan]{link['battery_id']}[/] by {link['repurposer_id']} for {link['application']}"
                f" ({_iso(link['at_ms'])})"
            )


def _iso(ms: int) -> str:
    return f"{datetime.fromtimestamp(ms / 1000, UTC):%Y-%m-%dT%H:%M:%S}Z"


def _battery(client, battery_id: str) -> dict[str, object]:
    """The battery's material, including its original's when it is a second life (the same physical battery)."""
    from battrace.compliance.materials import lots_in_batteries
    from battrace.compliance.second_life import links

    second_life = links(client, battery_id)
    codes = [battery_id]
    while (origin := links(client, codes[-1])["repurposed_from"]) and origin[0]["battery_id"] not in codes:
        codes.append(origin[0]["battery_id"])
    found = lots_in_batteries(client, codes)
    lot_ids = sorted({f.lot_id for f in found})
    facts = {
        r[0]: r[1:]
        for r in client.query(
            "SELECT lot_id, product, smelter_id, mine_licences, origin_country FROM battrace.lots FINAL "
            "WHERE lot_id IN {ids:Array(String)}",
            parameters={"ids": lot_ids},
        ).result_rows
    }
    grouped: dict[tuple[str, str], dict[str, object]] = {}
    for f in found:  # one row per lot (and per recovered lot it is upstream of), summed over the cells
        product, smelter, mines, country = facts.get(f.lot_id, ("", "", [], ""))
        row = grouped.setdefault(
            (f.lot_id, f.upstream_of),
            {
                "lot_id": f.lot_id,
                "cells": set(),
                "kg": 0.0,
                "product": product,
                "smelter_id": smelter,
                "mines": ",".join(mines),
                "country": country,
                "upstream_of": f.upstream_of,
            },
        )
        row["cells"].add(f.via_battery)  # type: ignore[union-attr]
        row["kg"] = round(row["kg"] + (f.consumed_kg or 0.0), 6)  # type: ignore[operator]
    lots = [{**r, "cells": len(r["cells"])} for r in grouped.values()]  # type: ignore[arg-type]
    return {
        "battery": battery_id,
        "lots": lots,
        "smelters": sorted({x["smelter_id"] for x in lots if x["smelter_id"]}),
        "mines": sorted({m for x in lots for m in x["mines"].split(",") if m}),
        "second_life": second_life,
    }
