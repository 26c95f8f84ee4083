"""`battrace schemas check --against packaged`: exit 0 compatible, 1 with one line per problem, 2 for a file that is
not a schema (the git refs are tests/integration/schemas/test_schemas_check_git.py's: git is a process)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from battrace.cli.main import cli

MES = json.loads(Path("schemas/mes_event.avsc").read_text())


def _check(tmp_path: Path, raw: Any, name: str = "mes_event.avsc") -> Result:
    path = tmp_path / name
    path.write_text(raw if isinstance(raw, str) else json.dumps(raw))
    return CliRunner().invoke(cli, ["schemas", "check", "--against", "packaged", str(path)])


def _changed(**site: Any) -> dict[str, Any]:
    raw = copy.deepcopy(MES)
    raw["fields"].append({"name": "operator", "type": ["null", "string"], "default": None})
    next(f for f in raw["fields"] if f["name"] == "site_id").update(site)
    return raw


def test_an_optional_field_is_backward_compatible(tmp_path: Path) -> None:
    result = _check(tmp_path, _changed())
    assert result.exit_code == 0, result.output
    assert "mes_event.avsc: BACKWARD compatible with packaged" in result.output


def test_each_problem_is_one_line_and_exit_1(tmp_path: Path) -> None:
    raw = _changed(type="int")
    raw["fields"].append({"name": "shift", "type": "string"})
    result = _check(tmp_path, raw)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [
        f"{tmp_path / 'mes_event.avsc'}: site_id: type changed from string to int",
        f"{tmp_path / 'mes_event.avsc'}: shift: field added without a default (the writer's data has none)",
    ]


def test_a_new_contract_has_nothing_to_compare_with(tmp_path: Path) -> None:
    result = _check(tmp_path, {"type": "record", "name": "battrace.x.New", "fields": []}, name="new_event.avsc")
    assert result.exit_code == 0 and "new contract" in result.output


def test_a_file_that_is_not_a_schema_is_a_user_error(tmp_path: Path) -> None:
    result = _check(tmp_path, "{not json")
    assert result.exit_code == 2
    assert "is not an Avro schema" in result.output and "Traceback" not in result.output
    missing = CliRunner().invoke(cli, ["schemas", "check", "--against", "packaged", str(tmp_path / "nope.avsc")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
