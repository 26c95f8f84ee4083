"""`battrace query` on a real chDB store: reading works; ClickHouse's readonly=1 refuses everything else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty store with the battrace tables, made in a child (chDB is never opened in the test process)."""
    home = tmp_path_factory.mktemp("query")
    make_store = "from battrace.settings import Settings; from battrace.store.client import connect, apply_ddl; "
    make_store += f"apply_ddl(connect(Settings(home={str(home)!r})))"
    subprocess.run([sys.executable, "-c", make_store], check=True, timeout=300)
    return home


def query(home: Path, sql: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "battrace", "query", sql], env=env, capture_output=True, text=True, timeout=300
    )


def test_a_reading_statement_prints_rows(home: Path) -> None:
    result = query(home, "SELECT count() FROM battrace.sealed")
    assert result.returncode == 0 and result.stdout.strip() == "[0]", result.stderr


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1 SETTINGS readonly = 0",  # lifting the lock from inside the statement
        "SELECT count() FROM battrace.sealed SETTINGS max_threads = 1",
        "SELECT * FROM file('/etc/hostname', 'LineAsString')",
    ],
    ids=["lift-readonly", "change-setting", "table-function"],
)
def test_clickhouse_refuses_what_a_reading_statement_could_change_in_one_line(home: Path, sql: str) -> None:
    result = query(home, sql)
    assert result.returncode == 2 and "READONLY" in result.stderr and "--write" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_write_is_refused_and_the_table_is_still_there(home: Path) -> None:
    result = query(home, "DROP TABLE battrace.sealed")
    assert result.returncode == 2 and "read-only" in result.stderr and "Traceback" not in result.stderr
    assert query(home, "EXISTS TABLE battrace.sealed").stdout.strip() == "[1]"
    assert query(home, "SHOW TABLES FROM battrace LIKE 'sealed'").stdout.strip() == '["sealed"]'
