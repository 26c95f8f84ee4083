"""`battrace query`: one SQL statement against the configured ClickHouse, read-only unless ``--write``.

The store is evidence: a typo that ALTERs or DROPs it destroys what `battrace verify` checks. So without ``--write``
the statement runs with ClickHouse's ``readonly=1``: the engine refuses every write, DDL, settings change and table
function, whatever the statement looks like, and the refusal becomes one line saying to add ``--write``. One hole
is closed here: embedded chDB still writes an ``INTO OUTFILE`` file under ``readonly=1``, and a reading command
creates no files, so that clause needs ``--write`` too.
"""

from __future__ import annotations

import json
import re

import click
from rich.console import Console
from rich.table import Table

from battrace.cli.common import open_store, settings_or_exit
from battrace.cli.known_errors import FixableError, clickhouse_says

READ_ONLY = {"readonly": 1}
READONLY_CODE = 164  # ClickHouse's READONLY error: a change refused under readonly=1
_OUTFILE = re.compile(r"\bINTO\s+OUTFILE\b", re.IGNORECASE)


def outfile_refusal(sql: str) -> str | None:
    """Why a statement is refused before it reaches ClickHouse (only INTO OUTFILE without --write), else None."""
    if _OUTFILE.search(sql):
        return (
            "battrace query is read-only and does not write files (INTO OUTFILE): redirect its output instead, "
            "or add --write"
        )
    return None


def refused(exc: Exception, write: bool) -> FixableError:
    """ClickHouse's refusal as one line naming the fix: --write for a change refused as read-only, else the SQL."""
    if not write and getattr(exc, "code", None) == READONLY_CODE:
        return FixableError(
            f"battrace query is read-only and ClickHouse refused a change ({clickhouse_says(exc)}): "
            "add --write to change the store"
        )
    return FixableError(f"ClickHouse refused the statement: {clickhouse_says(exc)}; fix the SQL and retry")


@click.command()
@click.argument("sql")
@click.option("--table", "as_table", is_flag=True, help="print a table with column names instead of JSON rows")
@click.option(
    "--write",
    is_flag=True,
    help="allow a statement that changes the store (INSERT, ALTER, DROP, ...); without it ClickHouse refuses them",
)
def query(sql: str, as_table: bool, write: bool) -> None:
    """Run one SQL statement, read-only unless --write; prints one JSON array per row.

    Exit 2 with one line when ClickHouse refuses the statement (a syntax error, or a change without --write).
    """
    from clickhouse_connect.driver.exceptions import DatabaseError

    problem = None if write else outfile_refusal(sql)
    if problem is not None:
        raise FixableError(problem)
    settings = settings_or_exit()
    client = open_store(settings)
    try:
        if write:
            outcome = client.command(sql)
        else:
            result = client.query(sql, settings=READ_ONLY)
    except DatabaseError as exc:
        if getattr(exc, "code", None) is None:  # not an answer from ClickHouse: known_errors names the cause
            raise
        raise refused(exc, write) from None
    finally:
        client.close()
    if write:
        _print_outcome(outcome)
    elif as_table:
        table = Table(*result.column_names)
        for row in result.result_rows:
            table.add_row(*(_cell(v) for v in row))
        Console(width=200).print(table)
    else:
        for row in result.result_rows:
            click.echo(json.dumps(list(row), default=str))


def _print_outcome(outcome: object) -> None:
    """What a --write statement returned: its rows as text, or 'done' with the rows written when ClickHouse says."""
    from clickhouse_connect.driver.summary import QuerySummary

    if not isinstance(outcome, QuerySummary):
        click.echo(outcome if isinstance(outcome, str) else json.dumps(outcome, default=str))
        return
    written = outcome.summary.get("written_rows")
    click.echo("done" + (f": {written} rows written" if written not in (None, "0") else ""), err=True)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(map(_cell, value))
    return str(value)
