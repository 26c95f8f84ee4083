"""`battrace query` is read-only: anything but a reading statement is refused with one line, before the store opens."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from battrace.cli.query import first_keyword, query, refusal

READING = [
    "SELECT count() FROM battrace.sealed",
    "select 1",
    "  \n\tWITH x AS (SELECT 1) SELECT * FROM x",
    "-- how many\nSELECT 1",
    "/* a comment\n over lines */ SHOW TABLES FROM battrace",
    "((SELECT 1))",
    "DESCRIBE TABLE battrace.sealed",
    "desc battrace.sealed",
    "EXPLAIN SELECT 1",
]
WRITING = [
    "INSERT INTO battrace.reports (shipment_id) VALUES ('x')",
    "ALTER TABLE battrace.sealed DELETE WHERE 1",
    "DROP TABLE battrace.sealed",
    "CREATE TABLE t (x UInt8) ENGINE = Memory",
    "OPTIMIZE TABLE battrace.sealed FINAL",
    "TRUNCATE TABLE battrace.sealed",
    "SET readonly = 0",
    "  -- SELECT in a comment\nDROP TABLE battrace.sealed",
    "/* SELECT */ DELETE FROM battrace.sealed WHERE 1",
    "(INSERT INTO t VALUES (1))",
    "SELECTX 1",
    "",
    "   ",
    "-- only a comment",
    "SELECT 1 INTO OUTFILE '/tmp/rows.csv'",
    "with x as (select 1) select * from x into   outfile 'f'",
]


@pytest.mark.parametrize("sql", READING)
def test_reading_statements_pass(sql: str) -> None:
    assert refusal(sql) is None, first_keyword(sql)


@pytest.mark.parametrize("sql", WRITING)
def test_everything_else_is_refused_naming_what_runs(sql: str) -> None:
    problem = refusal(sql)
    assert problem is not None, sql
    assert "read-only" in problem or "OUTFILE" in problem


def test_first_keyword_skips_blanks_comments_and_parentheses() -> None:
    assert first_keyword(" -- a\n /* b */ ( select 1)") == "SELECT"
    assert first_keyword("/* unterminated SELECT") == ""
    assert first_keyword("123") == ""


@pytest.mark.parametrize("sql", ["DROP TABLE battrace.sealed", "SELECT 1 INTO OUTFILE 'x'"])
def test_the_cli_refuses_with_one_line_before_opening_the_store(tmp_path: Path, sql: str) -> None:
    env = {"BATTRACE_HOME": str(tmp_path), "BATTRACE_CLICKHOUSE": None}
    result = CliRunner().invoke(query, [sql], env=env)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: battrace query") and "Traceback" not in result.output
    assert not (tmp_path / "clickhouse").exists()
