"""`battrace dashboard` refuses ambiguous options and a home that is not there with one line, exit 2 (the report of a
real store is drawn in tests/integration/dashboard/)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from battrace.cli.main import cli


@pytest.mark.parametrize("args", [[], ["--out", "a", "--grafana", "b"]])
def test_exactly_one_of_out_or_grafana(args: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["dashboard", *args])
    assert result.exit_code == 2 and "give exactly one of --out DIR or --grafana DIR" in result.output


def test_a_missing_home_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATTRACE_HOME", str(tmp_path / "nowhere"))
    result = CliRunner().invoke(cli, ["dashboard", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "nowhere" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "nowhere").exists()
