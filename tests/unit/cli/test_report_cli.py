"""`battrace report` refuses a report key open to other users with one line, before it touches the store."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from battrace.cli.report import report
from battrace.keys import KeyRing
from battrace.settings import Settings


def test_a_world_readable_report_key_is_one_line_naming_the_fix(tmp_path: Path) -> None:
    KeyRing(Settings(home=tmp_path)).report_signer("manufacturer_qa")
    path = tmp_path / "keys" / "report" / "manufacturer_qa.skey"
    os.chmod(path, 0o644)
    result = CliRunner().invoke(report, ["SHP-1"], env={"BATTRACE_HOME": str(tmp_path), "BATTRACE_CLICKHOUSE": None})
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    [line] = result.output.strip().splitlines()
    assert f"chmod 600 {path}" in line and "Traceback" not in result.output
    assert not (tmp_path / "clickhouse").exists()  # refused before the store was opened
