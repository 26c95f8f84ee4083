"""Open ClickHouse (embedded chDB or a server) through clickhouse-connect, and apply the DDL shipped in the package."""

from __future__ import annotations

import os
import re
from importlib import resources
from importlib.resources.abc import Traversable
from urllib.parse import urlparse

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from battrace.settings import Settings
from battrace.store import legacy_layout

DATABASE = "battrace"


def connect(settings: Settings) -> Client:
    """A client on the configured DSN; for chDB the store directory is created first."""
    if not settings.clickhouse:
        settings.clickhouse_path.mkdir(parents=True, exist_ok=True)
    return clickhouse_connect.get_client(dsn=settings.clickhouse_dsn, **clickhouse_options(settings))


def clickhouse_options(settings: Settings) -> dict[str, object]:
    """clickhouse-connect's credential and TLS arguments from BATTRACE_CLICKHOUSE_USER, _PASSWORD, _SECURE, _VERIFY
    and _CA_FILE: every client (the sink, the commands, the API) is opened with them next to the DSN.

    A setting wins over the same part of the DSN (clickhouse-connect takes an argument before the DSN's user, password
    and port-implied TLS); what is not set is left to the DSN. The embedded chDB store has no users and no network:
    nothing is passed to it."""
    if urlparse(settings.clickhouse_dsn).scheme == "chdb":
        return {}
    options: dict[str, object] = {}
    if settings.clickhouse_user:
        options["username"] = settings.clickhouse_user
    if settings.clickhouse_password.get_secret_value():
        options["password"] = settings.clickhouse_password.get_secret_value()
    if settings.clickhouse_secure is not None:
        options["secure"] = settings.clickhouse_secure
    if not settings.clickhouse_verify:
        options["verify"] = False
    if settings.clickhouse_ca_file is not None:
        options["ca_cert"] = str(settings.clickhouse_ca_file)
    return options


def embedded_store(settings: Settings) -> str | None:
    """The chDB store directory when ClickHouse is embedded (a chdb:///path DSN), else None.

    Spelled as clickhouse-connect reads it from the DSN: chDB compares engine paths literally, and a process may
    open only one engine path.
    """
    dsn = urlparse(settings.clickhouse_dsn)
    if dsn.scheme != "chdb" or dsn.netloc:  # a server, or chdb://memory
        return None
    return os.path.realpath(dsn.path)


def ddl_dir() -> Traversable:
    """The DDL files, package data of battrace.store: found the same way in a wheel as in a checkout."""
    return resources.files("battrace.store").joinpath("ddl")


def ddl_statements(directory: Traversable | None = None) -> list[str]:
    statements: list[str] = []
    files = (directory or ddl_dir()).iterdir()
    for path in sorted((f for f in files if f.name.endswith(".sql")), key=lambda f: f.name):
        text = re.sub(r"--[^\n]*", "", path.read_text())
        statements += [s.strip() for s in text.split(";") if s.strip()]
    return statements


def apply_ddl(client: Client) -> None:
    """Create what the store lacks; a store with the tables the views replaced has them moved in (legacy_layout)."""
    exists = client.query("SELECT count() FROM system.databases WHERE name = {db:String}", parameters={"db": DATABASE})
    if exists.result_rows[0][0]:
        legacy_layout.set_aside(client)
    for statement in ddl_statements():
        client.command(statement)
    legacy_layout.move_in(client)
