"""Read-only access to ClickHouse for the API: the server itself refuses any write, not just our code.

Every query of the API's client runs with the ClickHouse setting ``readonly=1``: INSERT, ALTER, DROP,
CREATE and even changing a setting fail with READONLY (code 164), on chDB as on a server. The store is
never created here (unlike :func:`battrace.store.client.connect`): an API over an empty directory
would only answer 404s, so a missing store is an error that tells the user to run the demo first.
"""

from __future__ import annotations

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from battrace.settings import Settings
from battrace.store.client import clickhouse_options

READ_ONLY = {"readonly": 1}
DATABASE = "battrace"


class StoreError(RuntimeError):
    """The store cannot serve the API; the message says why and what to do."""


def open_readonly(settings: Settings) -> Client:
    """A client whose every query runs with ``readonly=1``; raises StoreError when there is nothing to read."""
    if not settings.clickhouse and not settings.clickhouse_path.is_dir():
        raise StoreError(
            f"no ClickHouse store at {settings.clickhouse_path}: run `battrace demo` first, "
            "or set BATTRACE_HOME / BATTRACE_CLICKHOUSE to where the data is"
        )
    # A server session would serialise concurrent requests (ClickHouse locks a session per query);
    # chDB keeps its own per-client lock and takes no HTTP arguments.
    extra = {} if settings.clickhouse_dsn.startswith("chdb:") else {"autogenerate_session_id": False}
    try:
        client = clickhouse_connect.get_client(
            dsn=settings.clickhouse_dsn, settings=READ_ONLY, tz_mode="aware", **clickhouse_options(settings), **extra
        )
        ready = has_table(client, "sealed")
    except ClickHouseError as exc:
        raise StoreError(_open_problem(settings, exc)) from None
    if not ready:
        client.close()
        raise StoreError(
            f"the ClickHouse store {_where(settings)} has no battrace tables yet: run `battrace demo` first"
        )
    return client


def has_table(client: Client, name: str) -> bool:
    rows = client.query(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        parameters={"db": DATABASE, "t": name},
    ).result_rows
    return rows[0][0] > 0


def _where(settings: Settings) -> str:
    return settings.clickhouse_shown if settings.clickhouse else str(settings.clickhouse_path)


def _open_problem(settings: Settings, exc: ClickHouseError) -> str:
    if settings.clickhouse:
        return (
            f"cannot reach ClickHouse at {settings.clickhouse_shown}: {exc}. Check BATTRACE_CLICKHOUSE, "
            "BATTRACE_CLICKHOUSE_USER/PASSWORD and the server"
        )
    return (
        f"cannot open the chDB store at {settings.clickhouse_path}: another process (a running `battrace demo`, "
        "worker or server) probably holds it; chDB allows one process per store. Stop it and retry"
    )
