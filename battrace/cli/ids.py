"""`battrace id`: check a GB/T 34014 battery code, or build a battery's GS1 Digital Link, offline."""

from __future__ import annotations

import calendar
import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from battrace.domain.battery_code import LAYOUT, BatteryCodeError, DateTable, DateTableError, parse, sgtin_digital_link

EXIT_INVALID = 2


def _emit(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, separators=(",", ":"), ensure_ascii=False))


def _dates(path: Path | None) -> DateTable:
    try:
        return DateTable.load(path)
    except DateTableError as exc:
        raise click.ClickException(
            f"{exc}. Fix the file, or unset BATTRACE_DATE_TABLE to use the built-in table."
        ) from None


@click.group(name="id", context_settings={"help_option_names": ["-h", "--help"]})
def id_group() -> None:
    """Battery identifiers: GB/T 34014 codes and GS1 aliases."""


@id_group.command()
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="print one line of JSON")
@click.option(
    "--date-table",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="BATTRACE_DATE_TABLE",
    help="JSON year/month/day table for positions 15-17 [env BATTRACE_DATE_TABLE; default: built-in, unconfirmed]",
)
def check(code: str, as_json: bool, date_table: Path | None) -> None:
    """Decode CODE segment by segment; exit 2 with the first wrong position when it is not a valid code."""
    dates = _dates(date_table)
    try:
        parsed = parse(code, dates)
    except BatteryCodeError as exc:
        if as_json:
            _emit(exc.to_json())
        else:
            click.echo(f"invalid battery code {code!r}: {exc.message}", err=True)
        sys.exit(EXIT_INVALID)
    if as_json:
        _emit(parsed.to_json())
        return
    y, m, d = parsed.date_code
    year, month, day = dates.year.get(y), dates.month.get(m), dates.day.get(d)
    meaning = {
        "product_type": parsed.product_type,
        "battery_type": f"chemistry {parsed.chemistry}",
        "year": "" if year is None else str(year),
        "month": "" if month is None else calendar.month_name[month],
        "day": "" if day is None else str(day),
    }
    table = Table(title=f"GB/T 34014 code {code}")
    for column in ("segment", "positions", "value", "meaning"):
        table.add_column(column)
    for seg, value in zip(LAYOUT, parsed.segments.values(), strict=True):
        first, last = seg.start + 1, seg.start + seg.width
        table.add_row(seg.name, str(first) if first == last else f"{first}-{last}", value, meaning.get(seg.name, ""))
    console = Console()
    console.print(table)
    produced = parsed.production_date.isoformat() if parsed.production_date else "not decodable with this table"
    status = "confirmed" if dates.confirmed else "unconfirmed"
    console.print(f"production date: {produced} (date table {dates.source}, {status})")


@id_group.command()
@click.argument("gtin")
@click.argument("serial")
def link(gtin: str, serial: str) -> None:
    """Print the GS1 Digital Link of one battery item (GTIN + SERIAL); exit 2 when either is malformed."""
    try:
        click.echo(sgtin_digital_link(gtin, serial))
    except ValueError as exc:
        click.echo(f"invalid GS1 key: {exc}", err=True)
        sys.exit(EXIT_INVALID)
