"""ClickHouse credentials and TLS: the settings -> clickhouse-connect arguments, and what clickhouse-connect makes of
them together with the DSN.

clickhouse-connect merges arguments and DSN in ``_parse_connection_params`` before it opens anything; the tests run the
DSN and our arguments through it, so "settings win over the DSN" is checked against the library, not restated. A real
password check needs a ClickHouse server (chDB has no users, and unit tests open nothing): not tested here.
"""

from __future__ import annotations

from pathlib import Path

import certifi
import pytest
from clickhouse_connect.driver import _parse_connection_params

from battrace.settings import Settings
from battrace.store.client import clickhouse_options


def connection(settings: Settings) -> dict[str, object]:
    """host, user, password, port and interface clickhouse-connect would connect with."""
    options = clickhouse_options(settings)
    host, user, password, port, _, interface = _parse_connection_params(
        None,
        options.get("username"),
        options.get("password", ""),
        None,
        None,
        None,
        options.get("secure", False),
        settings.clickhouse_dsn,
        {},
    )
    return {"host": host, "user": user, "password": password, "port": port, "interface": interface}


def test_credentials_in_the_dsn_keep_working_without_settings() -> None:
    settings = Settings(clickhouse="http://analyst:dsn-pw@ch.example:8123")
    assert clickhouse_options(settings) == {}
    assert connection(settings) == {
        "host": "ch.example",
        "user": "analyst",
        "password": "dsn-pw",
        "port": 8123,
        "interface": "http",
    }


def test_the_settings_win_over_the_dsn() -> None:
    settings = Settings(
        clickhouse="http://analyst:dsn-pw@ch.example:8123", clickhouse_user="sink", clickhouse_password="settings-pw"
    )
    assert connection(settings)["user"] == "sink"
    assert connection(settings)["password"] == "settings-pw"


def test_a_password_alone_goes_with_the_dsn_user() -> None:
    settings = Settings(clickhouse="http://analyst@ch.example:8123", clickhouse_password="settings-pw")
    assert connection(settings)["user"] == "analyst" and connection(settings)["password"] == "settings-pw"


def test_secure_turns_tls_on_with_the_ca_file_and_verification() -> None:
    settings = Settings(clickhouse="http://ch.example:8443", clickhouse_secure=True, clickhouse_ca_file=certifi.where())
    assert clickhouse_options(settings) == {"secure": True, "ca_cert": certifi.where()}
    assert connection(settings)["interface"] == "https"
    unverified = Settings(clickhouse="https://ch.example:8443", clickhouse_verify=False)
    assert clickhouse_options(unverified) == {"verify": False}


def test_without_secure_the_dsn_decides_tls() -> None:
    assert connection(Settings(clickhouse="http://ch.example:8443"))["interface"] == "https"  # the TLS port
    assert connection(Settings(clickhouse="http://ch.example:8123"))["interface"] == "http"


@pytest.mark.parametrize("dsn", ["", "chdb:///tmp/store"])
def test_the_embedded_store_gets_no_credentials(dsn: str, tmp_path: Path) -> None:
    """chDB has no users and no network; clickhouse-connect would only warn about the ignored arguments."""
    settings = Settings(
        home=tmp_path, clickhouse=dsn, clickhouse_user="sink", clickhouse_password="pw", clickhouse_secure=True
    )
    assert clickhouse_options(settings) == {}


def test_the_dsn_is_shown_with_its_password_masked() -> None:
    settings = Settings(clickhouse="https://analyst:dsn-pw@ch.example:8443/battrace")
    assert settings.clickhouse_shown == "https://analyst:***@ch.example:8443/battrace"
    assert "dsn-pw" not in repr(settings)
