"""`battrace query`: read-only unless --write; refusals are one line naming the fix (ClickHouse's own refusals are
exercised on a real store in tests/integration/cli/test_query_cli_on_a_store.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from clickhouse_connect.driver.exceptions import DatabaseError

from battrace.cli.main import cli
from battrace.cli.query import outfile_refusal, refused

# Messages as embedded chDB 26.9 raised them (READONLY is code 164, SYNTAX_ERROR 62).
READONLY_REFUSAL = "Code: 164. DB::Exception: default: Cannot execute query in readonly mode. (READONLY)"
SYNTAX_REFUSAL = (
    "Code: 62. DB::Exception: Syntax error: failed at position 1 (SELEC) (line 1, col 1): SELEC 1. (SYNTAX_ERROR)"
)


@pytest.mark.parametrize(
    "sql", ["SELECT 1 INTO OUTFILE '/tmp/rows.csv'", "with x as (select 1) select * from x into   outfile 'f'"]
)
def test_into_outfile_is_refused_without_write(sql: str) -> None:
    problem = outfile_refusal(sql)
    assert problem is not None and "--write" in problem and "OUTFILE" in problem


@pytest.mark.parametrize("sql", ["SELECT 1", "SELECT 'INTO OUTFILES' AS x", "DROP TABLE battrace.sealed"])
def test_only_into_outfile_is_refused_before_clickhouse(sql: str) -> None:
    assert outfile_refusal(sql) is None  # everything else is for ClickHouse's readonly=1 to refuse


def test_a_change_refused_as_read_only_names_write() -> None:
    error = refused(DatabaseError(READONLY_REFUSAL, code=164, name="READONLY"), write=False)
    assert error.exit_code == 2 and "add --write" in error.message
    assert "Cannot execute query in readonly mode" in error.message and "Code: 164" not in error.message


def test_a_syntax_error_shows_clickhouses_first_line_and_the_fix() -> None:
    error = refused(DatabaseError(SYNTAX_REFUSAL, code=62, name="SYNTAX_ERROR"), write=False)
    assert error.exit_code == 2 and "Syntax error: failed at position 1 (SELEC)" in error.message
    assert "fix the SQL" in error.message and "--write" not in error.message


def test_with_write_a_readonly_refusal_is_not_blamed_on_the_missing_flag() -> None:
    error = refused(DatabaseError(READONLY_REFUSAL, code=164, name="READONLY"), write=True)
    assert "add --write" not in error.message  # e.g. a server whose user profile is read-only


def test_the_cli_refuses_outfile_with_one_line_before_opening_the_store(tmp_path: Path) -> None:
    env = {"BATTRACE_HOME": str(tmp_path), "BATTRACE_CLICKHOUSE": None}
    result = CliRunner().invoke(cli, ["query", "SELECT 1 INTO OUTFILE 'x'"], env=env)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.exception
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: battrace query") and "--write" in line
    assert not (tmp_path / "clickhouse").exists() and not (tmp_path / "x").exists()
