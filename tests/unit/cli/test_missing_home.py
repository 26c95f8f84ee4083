"""Read-only commands against a home that does not exist: one line naming the fix, and the home stays absent.

A typo in BATTRACE_HOME must not leave a half-made home (keys/, an empty store) that the next command then reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from battrace.cli.main import cli

BATTERY = "X12MCPM27KLPCLX2M2382320"  # well-formed (README's example)
READ_ONLY = [
    ["verify", "--all"],
    ["verify", "--battery", BATTERY],
    ["trace", "--battery", BATTERY],
    ["trace", "--lot", "06901234000115.LOT-000001"],
    ["disposition", "06901234000115.LOT-000001"],
    ["query", "SELECT 1"],
    ["export", "--battery", BATTERY, "--out", "bundle.json"],
    ["export", "--report", "CONS-000001", "--out", "bundle.json"],
    ["report", "CONS-000001"],
    ["audit"],
    ["keys"],
    ["keys", "show"],
    ["keys", "export"],
    ["keys", "export", "--report-roles"],
]
UNSET = {"BATTRACE_CLICKHOUSE": None, "BATTRACE_SIGNING_KEYS": None, "BATTRACE_VERIFIER_KEYS": None}


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_a_missing_home_is_named_and_not_created(tmp_path: Path, args: list[str]) -> None:
    home = tmp_path / "nope"
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path):
        result = runner.invoke(cli, args, env={"BATTRACE_HOME": str(home), **UNSET})
        written = list(Path.cwd().iterdir())
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.exception
    [line] = result.output.strip().splitlines()
    assert line == f"Error: no battrace home at {home}: run `battrace demo` or set BATTRACE_HOME"
    assert not home.exists() and written == []  # neither the home nor an output file


def test_a_chdb_store_named_in_the_setting_is_not_created_either(tmp_path: Path) -> None:
    store = tmp_path / "absent"
    env = {"BATTRACE_HOME": str(tmp_path), "BATTRACE_CLICKHOUSE": f"chdb://{store}"}
    result = CliRunner().invoke(cli, ["query", "SELECT 1"], env=env)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.exception
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"Error: no ClickHouse store at {store}: run `battrace demo` first") and not store.exists()
