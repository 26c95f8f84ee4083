"""The known failure classes become one line naming the fix, exit 2, in every command; a bug keeps its traceback.

The exceptions are the libraries' own classes built as they raise them (messages as recorded from chDB 26.9,
clickhouse-connect 1.12, urllib3 2.8 and librdkafka); the real ones, from a real closed port, a real held store and
a real syntax error, are in tests/integration/cli/test_cli_errors_on_a_store.py.
"""

from __future__ import annotations

import fcntl
import socket
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError, ProgrammingError
from confluent_kafka import KafkaError, KafkaException
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

from battrace.cli.known_errors import clickhouse_says, explain
from battrace.cli.main import BattraceGroup
from battrace.cli.store_lock import store_is_held

URL = "http://127.0.0.1:1"


def _transport_failure(reason: Exception) -> OperationalError:
    """What clickhouse-connect raises when the HTTP request never reached a server."""
    exc = OperationalError(f"Error HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded ({URL})")
    exc.__cause__ = MaxRetryError(None, "/", reason)  # type: ignore[arg-type]
    return exc


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BATTRACE_HOME", str(tmp_path))
    monkeypatch.setenv("BATTRACE_CLICKHOUSE", URL)
    monkeypatch.delenv("BATTRACE_KAFKA", raising=False)


def test_a_refused_connection_names_the_url_and_the_setting() -> None:
    refused = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    line = explain(_transport_failure(refused))
    assert line is not None and URL in line and "connection refused" in line and "BATTRACE_CLICKHOUSE" in line


def test_an_unresolved_host_name_is_said_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATTRACE_CLICKHOUSE", "http://no-such-host.invalid:8123")
    unresolved = NameResolutionError("no-such-host.invalid", None, socket.gaierror(-2, "Name or service not known"))  # type: ignore[arg-type]
    line = explain(_transport_failure(unresolved))
    assert line is not None and "no-such-host.invalid:8123" in line and "host name not resolved" in line


def test_a_server_error_shows_clickhouses_first_line_without_code_or_version() -> None:
    message = (
        "HTTPDriver for http://ch:8123 received ClickHouse error code 60\n Code: 60. DB::Exception: Table "
        "battrace.sealed does not exist. (UNKNOWN_TABLE) (version 24.8.4.13 (official build))\nStack trace: ..."
    )
    line = explain(DatabaseError(message, code=60, name="UNKNOWN_TABLE"))
    assert line is not None and "Table battrace.sealed does not exist. (UNKNOWN_TABLE)" in line
    assert "Code: 60" not in line and "version" not in line and "Stack trace" not in line and "\n" not in line


def test_nested_clickhouse_errors_keep_one_message() -> None:
    nested = "Code: 164. DB::Exception: Code: 164. DB::Exception: Cannot modify 'readonly' setting in readonly mode. "
    nested += "(READONLY) (version 26.9.2.1). (READONLY)"
    assert clickhouse_says(DatabaseError(nested, code=164, name="READONLY")) == (
        "Cannot modify 'readonly' setting in readonly mode. (READONLY)"
    )


def test_a_chdb_store_that_will_not_open_but_is_not_held_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BATTRACE_CLICKHOUSE")
    line = explain(ProgrammingError("Unable to open the chdb engine at '/x': Error initializing EmbeddedServer"))
    assert line is not None and "cannot open the chDB store" in line and "held" not in line


def test_a_chdb_store_under_a_lock_is_named_held(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BATTRACE_CLICKHOUSE")
    store = tmp_path / "clickhouse"
    store.mkdir()
    with open(store / "status", "w") as status:
        fcntl.flock(status, fcntl.LOCK_EX)  # what a running ClickHouse engine keeps on its status file
        line = explain(ProgrammingError("Unable to open the chdb engine at '/x': Error initializing EmbeddedServer"))
    assert line is not None and str(store) in line and "battrace serve" in line and "BATTRACE_HOME" in line


def test_the_store_lock_is_seen_only_while_held(tmp_path: Path) -> None:
    assert not store_is_held(tmp_path)  # no status file: no engine ever ran here
    (tmp_path / "status").touch()
    assert not store_is_held(tmp_path)
    with open(tmp_path / "status") as status:
        fcntl.flock(status, fcntl.LOCK_EX)
        assert store_is_held(tmp_path)
    assert not store_is_held(tmp_path)


def test_an_unreachable_kafka_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATTRACE_KAFKA", "127.0.0.1:1")
    down = KafkaException(KafkaError(KafkaError._TRANSPORT, "Failed to get metadata: Local: Broker transport failure"))
    line = explain(down)
    assert line is not None and "127.0.0.1:1" in line and "BATTRACE_KAFKA" in line


@pytest.mark.parametrize(
    "bug",
    [
        ValueError("a bug"),
        KafkaException(KafkaError(KafkaError.INVALID_CONFIG, "bad config")),
        OperationalError("Error executing HTTP request"),  # no transport cause: not known to be the user's
        ProgrammingError("Unsupported parameter type"),  # our own bad query parameter
    ],
)
def test_anything_else_is_not_explained(bug: Exception) -> None:
    assert explain(bug) is None


def _group_running(failure: Exception) -> click.Group:
    group = BattraceGroup()

    @group.command()
    def fails() -> None:
        raise failure

    return group


def test_a_known_failure_in_any_command_is_one_line_and_exit_2() -> None:
    refused = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    result = CliRunner().invoke(_group_running(_transport_failure(refused)), ["fails"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.exception
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: cannot reach ClickHouse") and "Traceback" not in result.output


def test_a_bug_keeps_its_traceback() -> None:
    result = CliRunner().invoke(_group_running(KeyError("bug")), ["fails"])
    assert isinstance(result.exception, KeyError)  # not turned into a one-line SystemExit
