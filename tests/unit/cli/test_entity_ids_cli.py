"""Battery codes are checked before anything is opened: a malformed one is one line naming what is wrong, exit 2.

(An unknown but well-formed id needs a store to be unknown in: tests/integration/cli/test_cli_errors_on_a_store.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from battrace.cli.entity_ids import check_battery_code
from battrace.cli.known_errors import FixableError
from battrace.cli.main import cli

COMMANDS = [
    ["verify", "--battery"],
    ["trace", "--battery"],
    ["export", "--out", "bundle.json", "--battery"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
@pytest.mark.parametrize("code", ["NOPE", "x12MCPM27KLPCLX2M2382320", "X12MCPM27KLPCLX2M23823201"])
def test_a_malformed_battery_code_is_one_line_before_the_home_is_read(
    tmp_path: Path, args: list[str], code: str
) -> None:
    home = tmp_path / "nope"  # would be its own error if the code were not checked first
    result = CliRunner().invoke(cli, [*args, code], env={"BATTRACE_HOME": str(home), "BATTRACE_CLICKHOUSE": None})
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.exception
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"Error: not a battery code: {code!r} (expected the 24-character GB/T 34014 code;")
    assert "battrace id check" in line and not home.exists()


def test_the_message_names_the_wrong_position() -> None:
    with pytest.raises(FixableError) as raised:
        check_battery_code("X12mCPM27KLPCLX2M2382320")
    assert "position 4" in raised.value.message


def test_a_well_formed_code_passes() -> None:
    assert check_battery_code("X12MCPM27KLPCLX2M2382320") == "X12MCPM27KLPCLX2M2382320"
