"""Open ClickHouse (embedded chDB or a server) through clickhouse-connect, and apply the DDL in deploy/."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from battrace.settings import Settings

DDL_DIR = Path(__file__).resolve().parents[2] / "deploy" / "clickhouse"
DATABASE = "battrace"


def connect(settings: Settings) -> Client:
    """A client on the configured DSN; for chDB the store directory is created first."""
    if not settings.clickhouse:
        settings.clickhouse_path.mkdir(parents=True, exist_ok=True)
    return clickhouse_connect.get_client(dsn=settings.clickhouse_dsn)


def embedded_store(settings: Settings) -> str | None:
    """The chDB store directory when ClickHouse is embedded (a chdb:///path DSN), else None.

    Spelled as clickhouse-connect reads it from the DSN: chDB compares engine paths literally, and a process may
    open only one engine path.
    """
    dsn = urlparse(settings.clickhouse_dsn)
    if dsn.scheme != "chdb" or dsn.netloc:  # a server, or chdb://memory
        return None
    return os.path.realpath(dsn.path)


def ddl_statements(ddl_dir: Path = DDL_DIR) -> list[str]:
    statements: list[str] = []
    for path in sorted(ddl_dir.glob("*.sql")):
        text = re.sub(r"--[^\n]*", "", path.read_text())
        statements += [s.strip() for s in text.split(";") if s.strip()]
    return statements


def apply_ddl(client: Client) -> None:
    for statement in ddl_statements():
        client.command(statement)
