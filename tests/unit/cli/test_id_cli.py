"""`battrace id check` / `id link`: exit 0 with the decoded segments, exit 2 with the first wrong position."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from battrace.cli.ids import id_group

VALID = "X12MCPM27KLPCLX2M2382320"
WRONG_TYPE = "X12XCPM27KLPCLX2M2382320"


@click.group()
def cli() -> None:
    """Stands in for `battrace`, which registers the group the same way."""


cli.add_command(id_group)


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["id", *args], env={"BATTRACE_DATE_TABLE": None, **(env or {})})


def test_valid_code_prints_its_segments() -> None:
    result = run("check", VALID)
    assert result.exit_code == 0, result.output
    for text in ("manufacturer", "X12", "module", "27KLPCL", "2382320", "2029-02-21", "unconfirmed"):
        assert text in result.stdout


def test_valid_code_as_json() -> None:
    result = run("check", VALID, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "code": VALID,
        "valid": True,
        "segments": {
            "manufacturer": "X12",
            "product_type": "M",
            "battery_type": "C",
            "specification": "PM",
            "traceability": "27KLPCL",
            "year": "X",
            "month": "2",
            "day": "M",
            "serial": "2382320",
        },
        "product_type": "module",
        "chemistry": "unconfirmed",
        "date_code": "X2M",
        "production_date": "2029-02-21",
    }
    assert len(result.stdout.splitlines()) == 1


def test_undecodable_date_is_null() -> None:
    result = run("check", VALID[:14] + "U2M" + VALID[17:], "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["production_date"] is None


def test_invalid_code_exits_2_with_one_line_on_stderr() -> None:
    result = run("check", WRONG_TYPE)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "position 4 (product_type)" in result.stderr and "C, M, P" in result.stderr


def test_invalid_code_as_json() -> None:
    result = run("check", WRONG_TYPE, "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {
        "code": WRONG_TYPE,
        "valid": False,
        "position": 4,
        "segment": "product_type",
        "reason": "character_class",
        "message": "position 4 (product_type): 'X' not allowed; expected one of C, M, P",
    }


@pytest.mark.parametrize(
    ("code", "reason", "position"), [("X12", "length", 4), (VALID[:-1] + "A", "character_class", 24)]
)
def test_other_invalid_codes(code: str, reason: str, position: int) -> None:
    result = run("check", code, "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == 2 and (data["reason"], data["position"]) == (reason, position)


def _table(tmp_path: Path) -> Path:
    path = tmp_path / "dates.json"
    path.write_text(json.dumps({"confirmed": True, "year": {"X": 2005}, "month": {"2": 2}, "day": {"M": 3}}))
    return path


def test_date_table_from_option_or_environment(tmp_path: Path) -> None:
    path = _table(tmp_path)
    by_option = run("check", VALID, "--json", "--date-table", str(path))
    by_env = run("check", VALID, "--json", env={"BATTRACE_DATE_TABLE": str(path)})
    assert (
        json.loads(by_option.stdout)["production_date"] == json.loads(by_env.stdout)["production_date"] == "2005-02-03"
    )
    shown = run("check", VALID, "--date-table", str(path)).stdout
    assert "confirmed)" in shown and "unconfirmed)" not in shown


def test_a_bad_date_table_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "dates.json"
    path.write_text('{"year": {"O": 2020}, "month": {"1": 1}, "day": {"1": 1}}')
    result = run("check", VALID, env={"BATTRACE_DATE_TABLE": str(path)})
    assert result.exit_code == 1
    assert "year key 'O'" in result.stderr and "BATTRACE_DATE_TABLE" in result.stderr
    assert "Traceback" not in result.output


def test_link_prints_the_digital_link() -> None:
    result = run("link", "09506000134352", "A1")
    assert result.exit_code == 0 and result.stdout == "https://id.gs1.org/01/09506000134352/21/A1\n"


def test_link_refuses_a_wrong_check_digit() -> None:
    result = run("link", "09506000134353", "A1")
    assert result.exit_code == 2 and "check digit 3, expected 2" in result.stderr and result.stdout == ""
