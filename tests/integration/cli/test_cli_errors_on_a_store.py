"""Every command fails in one line naming the fix, on real chDB, a real closed port and a store really held.

The store is made and written in child processes (chDB opens a store in one process at a time, and keeps it for the
life of the process that opened it): the test process never opens it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from battrace.stack.process import stop_group

KNOWN_BATTERY, UNKNOWN_BATTERY = "CH2CBL12000001T150000001", "X12MCPM27KLPCLX2M2382320"
KNOWN_LOT, KNOWN_SHIPMENT = "06901234000115.LOT-000001", "CONS-000001"
MAKE_STORE = "from battrace.settings import Settings; from battrace.store.client import connect, apply_ddl; "
MAKE_STORE += "apply_ddl(connect(Settings()))"
HOLD_STORE = "import time; from battrace.settings import Settings; from battrace.store.client import connect; "
HOLD_STORE += "client = connect(Settings()); print('holding', flush=True); time.sleep(600)"

STORE_COMMANDS = {  # every command that reads the store, with a well-formed id where it takes one
    "query": ["query", "SELECT 1"],
    "verify": ["verify", "--all"],
    "trace": ["trace", "--battery", KNOWN_BATTERY],
    "export": ["export", "--battery", KNOWN_BATTERY, "--out", "bundle.json"],
    "audit": ["audit"],
    "report": ["report", KNOWN_SHIPMENT],
}


def battrace(home: Path, *args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "BATTRACE_HOME": str(home), **env}
    for name in ("BATTRACE_CLICKHOUSE", "BATTRACE_KAFKA"):
        if name not in env:
            environ.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "battrace", *args], env=environ, capture_output=True, text=True, timeout=300, cwd=cwd
    )


def one_line(result: subprocess.CompletedProcess[str], exit_code: int) -> str:
    """The single line a failed command printed (stderr), after checking its exit code and that it is alone."""
    assert result.returncode == exit_code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stdout == "", result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    return line


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on return: nothing listens there


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the battrace tables, a signing key, and one sealed row of a battery, a lot and a shipment."""
    home = tmp_path_factory.mktemp("errors")
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    subprocess.run([sys.executable, "-c", MAKE_STORE], env=env, check=True, timeout=300)
    assert battrace(home, "keys", "rotate").returncode == 0
    rows = ", ".join(f"('{t}', '{i}', 1)" for t, i in (("battery", KNOWN_BATTERY), ("lot", KNOWN_LOT)))
    rows += f", ('shipment', '{KNOWN_SHIPMENT}', 1)"
    written = battrace(
        home, "query", "--write", f"INSERT INTO battrace.sealed_store (entity_type, entity_id, seq) VALUES {rows}"
    )
    assert written.returncode == 0, written.stderr
    return home


@pytest.fixture
def held(home: Path) -> Iterator[Path]:
    """The store held open by another process, as `battrace serve` holds it."""
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    env.pop("BATTRACE_CLICKHOUSE", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_STORE], env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        yield home / "clickhouse"
    finally:
        stop_group(proc, timeout_s=15)


# ---------------------------------------------------------------------------------------------- ClickHouse refusals


def test_a_sql_typo_is_clickhouses_first_line(home: Path) -> None:
    line = one_line(battrace(home, "query", "SELEC 1"), 2)
    assert "Syntax error: failed at position" in line and "fix the SQL" in line and "Code: 62" not in line


def test_a_write_without_write_is_refused_by_clickhouse_and_names_the_flag(home: Path) -> None:
    line = one_line(battrace(home, "query", "DROP TABLE battrace.sealed"), 2)
    assert "read-only" in line and "add --write" in line
    assert battrace(home, "query", "EXISTS TABLE battrace.sealed").stdout.strip() == "[1]"


def test_with_write_the_statement_runs(home: Path) -> None:
    created = battrace(home, "query", "--write", "CREATE TABLE battrace.scratch (x UInt8) ENGINE = Memory")
    assert created.returncode == 0, created.stderr
    assert battrace(home, "query", "EXISTS TABLE battrace.scratch").stdout.strip() == "[1]"
    assert battrace(home, "query", "--write", "DROP TABLE battrace.scratch").returncode == 0
    assert battrace(home, "query", "EXISTS TABLE battrace.scratch").stdout.strip() == "[0]"


# -------------------------------------------------------------------------------------------- unreachable services


@pytest.mark.parametrize("command", list(STORE_COMMANDS))
def test_a_closed_clickhouse_port_names_the_url_and_the_setting(home: Path, tmp_path: Path, command: str) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = battrace(home, *STORE_COMMANDS[command], cwd=tmp_path, BATTRACE_CLICKHOUSE=url)
    line = one_line(result, 2)
    assert f"cannot reach ClickHouse at {url} (connection refused)" in line and "BATTRACE_CLICKHOUSE" in line


def test_an_unresolvable_clickhouse_host_is_named(home: Path) -> None:
    url = "http://no-such-host.invalid:8123"
    line = one_line(battrace(home, "query", "SELECT 1", BATTRACE_CLICKHOUSE=url), 2)
    assert f"cannot reach ClickHouse at {url} (host name not resolved)" in line


def test_an_unreachable_kafka_stops_the_demo_before_it_replaces_anything(tmp_path: Path) -> None:
    (tmp_path / "clickhouse").mkdir()
    result = battrace(tmp_path, "demo", "--events", "10", BATTRACE_KAFKA=f"127.0.0.1:{closed_port()}")
    assert "BATTRACE_KAFKA" in one_line(result, 2)
    assert (tmp_path / "clickhouse").is_dir() and not (tmp_path / "broker").exists()


# ----------------------------------------------------------------------------------------------- a held chDB store


def test_every_store_command_names_a_held_store(held: Path, tmp_path: Path) -> None:
    for command, args in STORE_COMMANDS.items():
        line = one_line(battrace(held.parent, *args, cwd=tmp_path), 2)
        assert f"the chDB store at {held} is held by another process" in line, command
        assert "battrace serve" in line and "point BATTRACE_HOME elsewhere" in line, command
    named = battrace(tmp_path, "query", "SELECT 1", BATTRACE_CLICKHOUSE=f"chdb://{held}")  # the store by its DSN
    assert f"the chDB store at {held} is held by another process" in one_line(named, 2)


def test_the_demo_refuses_to_replace_a_held_store(held: Path) -> None:
    line = one_line(battrace(held.parent, "demo", "--events", "10"), 2)
    assert f"the chDB store at {held} is held by another process" in line
    assert (held / "status").exists() and any((held / "metadata").iterdir())  # nothing deleted


def test_the_demo_says_which_store_it_replaces(tmp_path: Path) -> None:
    env = {**os.environ, "BATTRACE_HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-c", MAKE_STORE], env=env, check=True, timeout=300)
    marker = "CREATE TABLE battrace.marker (x UInt8) ENGINE = MergeTree ORDER BY x"
    assert battrace(tmp_path, "query", "--write", marker).returncode == 0
    demo = battrace(tmp_path, "demo", "--events", "20")
    assert demo.stdout.splitlines()[0] == f"replacing the store at {tmp_path / 'clickhouse'}", demo.stdout
    assert battrace(tmp_path, "query", "EXISTS TABLE battrace.marker").stdout.strip() == "[0]"


# -------------------------------------------------------------------------------------------------- ids, by store


@pytest.mark.parametrize(
    "args",
    [
        ["trace", "--battery", UNKNOWN_BATTERY],
        ["verify", "--battery", UNKNOWN_BATTERY],
        ["export", "--battery", UNKNOWN_BATTERY, "--out", "bundle.json"],
    ],
    ids=lambda a: a[0],
)
def test_an_unknown_battery_is_one_line_exit_1(home: Path, tmp_path: Path, args: list[str]) -> None:
    line = one_line(battrace(home, *args, cwd=tmp_path), 1)
    assert line.startswith(f"Error: no battery {UNKNOWN_BATTERY} in the store: list them with battrace query")
    assert not (tmp_path / "bundle.json").exists()


@pytest.mark.parametrize(
    "args, entity",
    [
        (["trace", "--lot", "06901234000115.LOT-999999"], "lot 06901234000115.LOT-999999"),
        (["export", "--shipment", "CONS-999999", "--out", "bundle.json"], "shipment CONS-999999"),
        (["export", "--report", "CONS-999999", "--out", "bundle.json"], "shipment CONS-999999"),
        (["report", "CONS-999999"], "shipment CONS-999999"),
    ],
    ids=lambda a: a[0] if isinstance(a, list) else "",
)
def test_an_unknown_lot_or_shipment_is_one_line_exit_1(
    home: Path, tmp_path: Path, args: list[str], entity: str
) -> None:
    line = one_line(battrace(home, *args, cwd=tmp_path), 1)
    assert line.startswith(f"Error: no {entity} in the store")


def test_known_ids_pass_the_check(home: Path, tmp_path: Path) -> None:
    assert battrace(home, "trace", "--battery", KNOWN_BATTERY).returncode == 0
    assert battrace(home, "trace", "--lot", KNOWN_LOT).returncode == 0
    report = battrace(home, "report", KNOWN_SHIPMENT, cwd=tmp_path)
    assert "no report for consignment" in one_line(report, 1)  # past the id check: the store has no report yet
    verified = battrace(home, "verify", "--battery", KNOWN_BATTERY)
    assert "in the store" not in verified.stderr and "checked" in verified.stdout  # verified (and failed: a bare row)
