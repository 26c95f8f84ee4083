"""`battrace query`: one read-only SQL statement against the configured ClickHouse.

The store is evidence: a command that could ALTER or DROP it would let a typo destroy what `battrace verify`
checks. So two locks: the statement must start with a reading keyword (checked before the store is opened),
and ClickHouse runs it with ``readonly=1``, which refuses every write, DDL and settings change on its side too.
"""

from __future__ import annotations

import json
import re

import click
from rich.console import Console
from rich.table import Table

from battrace.cli.common import open_store, settings_or_exit

READING = ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN")
READ_ONLY = {"readonly": 1}
_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*", re.DOTALL)  # blanks, comments, "("
_WORD = re.compile(r"[A-Za-z]+")
_OUTFILE = re.compile(r"\bINTO\s+OUTFILE\b", re.IGNORECASE)  # embedded chDB writes the file even when read-only


def first_keyword(sql: str) -> str:
    """The statement's first keyword in upper case, past blanks, comments and opening parentheses ('' if none)."""
    start = _LEADING.match(sql)
    word = _WORD.match(sql, start.end() if start else 0)
    return word.group(0).upper() if word else ""


def refusal(sql: str) -> str | None:
    """Why ``sql`` is refused, with what to do instead; None for a reading statement."""
    keyword = first_keyword(sql)
    if keyword in READING and _OUTFILE.search(sql):
        return "battrace query does not write files (INTO OUTFILE): it prints the rows; redirect them instead"
    if keyword in READING:
        return None
    what = f"a {keyword} statement" if keyword else "a statement with no keyword"
    return (
        f"battrace query is read-only and refuses {what}: it runs {', '.join(READING[:-2])} and EXPLAIN "
        "statements (the store is written only by the worker and `battrace audit`)"
    )


@click.command()
@click.argument("sql")
@click.option("--table", "as_table", is_flag=True, help="print a table with column names instead of JSON rows")
def query(sql: str, as_table: bool) -> None:
    """Run one read-only SQL statement (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN); prints one JSON array per row."""
    from clickhouse_connect.driver.exceptions import ClickHouseError

    problem = refusal(sql)
    if problem is not None:
        raise click.ClickException(problem)
    settings = settings_or_exit()
    client = open_store(settings)
    try:
        result = client.query(sql, settings=READ_ONLY)
    except ClickHouseError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise click.ClickException(f"ClickHouse refused the query: {first_line[:500]}") from None
    finally:
        client.close()
    if as_table:
        table = Table(*result.column_names)
        for row in result.result_rows:
            table.add_row(*(_cell(v) for v in row))
        Console(width=200).print(table)
    else:
        for row in result.result_rows:
            click.echo(json.dumps(list(row), default=str))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(map(_cell, value))
    return str(value)
