"""Secrets reach the clients and the worker, and nothing else: no repr, log line, banner or error message shows them.

Every secret setting gets a distinctive value; the code paths that print or log settings run with them, and their
output (stdout, stderr, log records, messages) is searched for those values. The one place a secret must appear as
itself is the worker's environment (its only input), which is checked for exactly that.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from clickhouse_connect.driver.exceptions import OperationalError
from confluent_kafka import KafkaError, KafkaException
from urllib3.exceptions import MaxRetryError, NewConnectionError

from battrace.api.store import _open_problem
from battrace.cli.common import settings_or_exit
from battrace.cli.known_errors import explain, kafka_authentication_message
from battrace.cli.main import BattraceGroup
from battrace.settings import Settings
from battrace.stack.worker import WorkerProcess
from streams.kafka_security import faust_credentials

SECRETS = {
    "BATTRACE_KAFKA_SASL_PASSWORD": "kafka-secret-71c9",
    "BATTRACE_KAFKA_SSL_KEY_PASSWORD": "tls-key-secret-42d0",
    "BATTRACE_CLICKHOUSE_PASSWORD": "ch-secret-9e13",
    "BATTRACE_SCHEMA_REGISTRY_PASSWORD": "registry-secret-05fa",
}
DSN_PASSWORD = "dsn-secret-6b27"


def leaked(text: str) -> list[str]:
    return [secret for secret in (*SECRETS.values(), DSN_PASSWORD) if secret in text]


@pytest.fixture
def secret_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """Settings read from the environment, as every command reads them, with every secret set."""
    monkeypatch.setenv("BATTRACE_HOME", str(tmp_path))
    monkeypatch.setenv("BATTRACE_KAFKA", "127.0.0.1:1")
    monkeypatch.setenv("BATTRACE_CLICKHOUSE", f"http://analyst:{DSN_PASSWORD}@127.0.0.1:1")
    monkeypatch.setenv("BATTRACE_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("BATTRACE_KAFKA_SASL_USERNAME", "ingest")
    monkeypatch.setenv("BATTRACE_SCHEMA_REGISTRY_USER", "reader")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return Settings()


def test_the_settings_never_show_a_secret(secret_environment: Settings) -> None:
    settings = secret_environment
    assert settings.kafka_sasl_password.get_secret_value() == SECRETS["BATTRACE_KAFKA_SASL_PASSWORD"]
    shown = [repr(settings), str(settings), f"{settings!r} {settings}", settings.clickhouse_shown]
    shown.append(repr(faust_credentials(settings)))
    assert not leaked("\n".join(shown))
    assert settings.clickhouse_shown == "http://analyst:***@127.0.0.1:1"


def test_the_worker_gets_every_secret_as_itself_and_nothing_is_printed(
    secret_environment: Settings, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    worker = WorkerProcess(secret_environment, "127.0.0.1:1", Path("worker.log"), tansu=False)
    env = worker.environment()
    for name, value in SECRETS.items():
        assert env[name] == value  # not "**********": the worker must log in with it
    assert env["BATTRACE_CLICKHOUSE"].endswith(f":{DSN_PASSWORD}@127.0.0.1:1")
    out = capsys.readouterr()
    assert not leaked(out.out + out.err + caplog.text)


def test_a_refused_setting_is_named_without_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """pydantic repeats a refused input in its message unless told not to: SASL credentials without a SASL protocol
    are refused on the password field."""
    monkeypatch.setenv("BATTRACE_KAFKA_SASL_USERNAME", "ingest")
    monkeypatch.setenv("BATTRACE_KAFKA_SASL_PASSWORD", SECRETS["BATTRACE_KAFKA_SASL_PASSWORD"])
    with pytest.raises(click.UsageError) as refused:
        settings_or_exit()
    assert "BATTRACE_KAFKA_SASL_PASSWORD" in refused.value.message and not leaked(refused.value.message)
    with pytest.raises(ValueError) as raw:
        Settings()
    assert not leaked(str(raw.value))


def test_an_unreachable_clickhouse_is_named_with_its_password_masked(secret_environment: Settings) -> None:
    exc = OperationalError("Error HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded")
    refused = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    exc.__cause__ = MaxRetryError(None, "/", refused)  # type: ignore[arg-type]
    line = explain(exc)
    assert line is not None and "analyst:***@127.0.0.1:1" in line and not leaked(line)
    assert not leaked(_open_problem(secret_environment, exc))  # the API's message when it cannot open the store
    assert "analyst:***@" in _open_problem(secret_environment, exc)


def test_a_refused_kafka_login_names_the_settings_and_not_the_password(secret_environment: Settings) -> None:
    why = "sasl_plaintext://127.0.0.1:1/bootstrap: SASL authentication error: Invalid username or password"
    line = explain(KafkaException(KafkaError(KafkaError._AUTHENTICATION, why)))
    assert line == kafka_authentication_message("127.0.0.1:1", why)
    assert "BATTRACE_KAFKA_SASL_USERNAME/PASSWORD" in line and "Invalid username or password" in line
    assert "sasl_plaintext://" not in line and not leaked(line)


def test_a_command_failing_on_a_refused_login_prints_one_line_without_secrets(secret_environment: Settings) -> None:
    group = BattraceGroup()

    @group.command()
    def fails() -> None:
        raise KafkaException(KafkaError(KafkaError._AUTHENTICATION, "SASL authentication error: Invalid password"))

    result = CliRunner().invoke(group, ["fails"])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: Kafka at 127.0.0.1:1 refused the login") and not leaked(result.output)
