"""The one place that turns failures a user can fix into one line naming the problem and the fix, exit 2.

Every command runs inside :func:`one_line_errors` (the `battrace` group wraps them, battrace/cli/main.py). The known
classes are the ones no code change fixes: ClickHouse refusing a statement (its own first line, not the Python
stack), ClickHouse unreachable (the URL and BATTRACE_CLICKHOUSE), an embedded chDB store held by another process (its
path, and who probably holds it), Kafka unreachable (BATTRACE_KAFKA) or refusing the login (the SASL settings).
Anything else is a bug and keeps its traceback: one line would hide where to fix it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from battrace.cli.store_lock import store_is_held
from battrace.settings import Settings

EXIT_FIXABLE = 2
_CLICKHOUSE_PREFIX = re.compile(r"^(?:Code: \d+\. DB::Exception: )+")  # nested errors repeat it
# "(SYNTAX_ERROR)", "(version 26.9.2.1)", "(version 24.8.4.13 (official build))", each maybe followed by a full stop
_TRAILER = re.compile(r"\s*\((?:version\s+(?:[^()]|\([^()]*\))*|[A-Z][A-Z0-9_]+)\)\.?\s*$")
_KAFKA_UNREACHABLE = ("_TRANSPORT", "_TIMED_OUT", "_ALL_BROKERS_DOWN", "_RESOLVE")
LONGEST = 300  # characters of ClickHouse's own message kept: its first sentence, not the list of expected tokens


class FixableError(click.ClickException):
    """A failure the user fixes (input, setting, another process): shown as one ``Error: ...`` line, exit 2."""

    exit_code = EXIT_FIXABLE


def held_store_message(path: object) -> str:
    return (
        f"the chDB store at {path} is held by another process (probably a `battrace serve`, demo or worker on this "
        "home; chDB opens a store in one process at a time): stop it or point BATTRACE_HOME elsewhere"
    )


def unreachable_clickhouse_message(url: str, why: str) -> str:
    return f"cannot reach ClickHouse at {url} ({why}): start the server or fix BATTRACE_CLICKHOUSE"


def unreachable_kafka_message(bootstrap: str, why: str) -> str:
    return (
        f"cannot reach Kafka at {bootstrap} ({why}): start the broker or fix BATTRACE_KAFKA "
        "(empty: the embedded broker) or BATTRACE_KAFKA_SECURITY_PROTOCOL (what its listener speaks)"
    )


def kafka_authentication_message(bootstrap: str, why: str) -> str:
    """Kafka answered but refused the client's SASL login (wrong user or password, or a mechanism it does not offer).
    ``why`` is librdkafka's own reason; it never holds the password."""
    return (
        f"Kafka at {bootstrap} refused the login ({_without_broker_prefix(why)}): check BATTRACE_KAFKA_SASL_USERNAME/"
        "PASSWORD and BATTRACE_KAFKA_SASL_MECHANISM"
    )


def _without_broker_prefix(reason: str) -> str:
    """librdkafka's reason without the ``sasl_plaintext://host:port/bootstrap: `` it starts with."""
    return re.sub(r"^\S+://\S+: ", "", reason).strip()


def clickhouse_says(exc: BaseException) -> str:
    """ClickHouse's own message, first line, without the code prefix, the error name and the version trailer."""
    text = str(exc).strip()
    server = text.find("Code: ")
    first = (text[server:] if server >= 0 else text).splitlines()[0] if text else type(exc).__name__
    first = _CLICKHOUSE_PREFIX.sub("", first)
    while _TRAILER.search(first):  # a nested error ends in several: "(READONLY) (version 26.9.2.1). (READONLY)"
        first = _TRAILER.sub("", first)
    first = first.strip()
    name = getattr(exc, "name", None)
    shown = first if len(first) <= LONGEST else first[: LONGEST - 1] + "…"
    return f"{shown} ({name})" if name else shown


def _settings() -> Settings | None:
    try:
        return Settings()
    except ValueError:  # an invalid setting is its own one-line error, raised by the command itself
        return None


def _transport_reason(exc: BaseException) -> str | None:
    """Why an HTTP request never reached ClickHouse ('connection refused', 'host name not resolved', ...), else
    None: the request reached the server, which answered."""
    from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, TimeoutError

    seen: BaseException | None = exc
    while seen is not None:
        cause = seen.reason if isinstance(seen, MaxRetryError) else seen.__cause__
        if isinstance(seen, NameResolutionError):
            return "host name not resolved"
        if isinstance(seen, NewConnectionError):
            return "connection refused" if "refused" in str(seen).lower() else "no connection"
        if isinstance(seen, TimeoutError):
            return "timed out"
        if isinstance(seen, ConnectionError):
            return "connection lost"
        seen = cause
    return None


def _clickhouse(exc: BaseException) -> str | None:
    """Server errors (they carry ClickHouse's error code), transport failures and a chDB store that would not open;
    other driver errors (a bad parameter from our own code) are bugs."""
    from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError, ProgrammingError

    if not isinstance(exc, DatabaseError):
        return None
    settings = _settings()
    where = settings.clickhouse_shown if settings else "BATTRACE_CLICKHOUSE"
    if getattr(exc, "code", None) is not None:
        return f"ClickHouse refused a statement: {clickhouse_says(exc)}; check that {where} is a battrace store"
    if isinstance(exc, OperationalError):
        reason = _transport_reason(exc)
        return None if reason is None else unreachable_clickhouse_message(where, reason)
    if isinstance(exc, ProgrammingError) and "Unable to open the chdb engine" in str(exc):
        from battrace.store.client import embedded_store

        store = embedded_store(settings) if settings is not None else None
        if store is not None and store_is_held(Path(store)):
            return held_store_message(store)
        return f"cannot open the chDB store {where}: {clickhouse_says(exc)}; check BATTRACE_HOME"
    return None


def _kafka(exc: BaseException) -> str | None:
    from confluent_kafka import KafkaException

    if not isinstance(exc, KafkaException) or not exc.args:
        return None
    error = exc.args[0]
    name = getattr(error, "name", lambda: "")()
    settings = _settings()
    where = settings.kafka if settings and settings.kafka else "BATTRACE_KAFKA"
    if name == "_AUTHENTICATION":
        return kafka_authentication_message(where, error.str())
    if name not in _KAFKA_UNREACHABLE:
        return None
    return unreachable_kafka_message(where, error.str())


def explain(exc: BaseException) -> str | None:
    """The one line for a known failure class, or None for anything else (a bug: let its traceback show)."""
    return _clickhouse(exc) or _kafka(exc)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Run a command; a known failure leaves as a :class:`FixableError`, anything else unchanged.

    The ClickHouse driver also logs a warning for each failed request; the error line already says it, so the
    driver's log is limited to errors while a command runs.
    """
    driver_log = logging.getLogger("clickhouse_connect")
    level = driver_log.level
    driver_log.setLevel(logging.ERROR)
    try:
        yield
    except click.ClickException:
        raise
    except Exception as exc:
        line = explain(exc)
        if line is None:
            raise
        raise FixableError(line) from None
    finally:
        driver_log.setLevel(level)
