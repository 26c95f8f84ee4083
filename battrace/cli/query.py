"""`battrace query`: one SQL statement against the configured ClickHouse."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from battrace.cli.common import open_store, settings_or_exit


@click.command()
@click.argument("sql")
@click.option("--table", "as_table", is_flag=True, help="print a table with column names instead of JSON rows")
def query(sql: str, as_table: bool) -> None:
    """Run one SQL statement against the configured ClickHouse; prints one JSON array per row."""
    settings = settings_or_exit()
    client = open_store(settings)
    try:
        if sql.lstrip().upper().startswith(("SELECT", "WITH", "SHOW", "DESCRIBE")):
            result = client.query(sql)
            if as_table:
                table = Table(*result.column_names)
                for row in result.result_rows:
                    table.add_row(*(_cell(v) for v in row))
                Console(width=200).print(table)
            else:
                for row in result.result_rows:
                    click.echo(json.dumps(list(row), default=str))
        else:
            client.command(sql, settings={"mutations_sync": 2})
    finally:
        client.close()


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(map(_cell, value))
    return str(value)
