"""What every command shares: settings read once with a one-line error, the store, keys and report printing.

Errors a user can fix (a bad setting, no store yet, no keys) become one line naming the fix, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from rich.console import Console

from battrace.cli.known_errors import FixableError
from battrace.cli.preflight import require_free_store, require_home
from battrace.settings import Settings

T = TypeVar("T")


def settings_or_exit() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"BATTRACE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise click.UsageError(f"invalid setting: {problems}. Fix the environment variable and retry.") from None


def keyring(settings: Settings) -> Any:
    from battrace.keys import KeyRing

    return KeyRing(settings)


def open_store(settings: Settings) -> Any:
    """A client on the configured store; an embedded one must exist already (reading never creates it) and be free.

    Failures past these checks (a server that does not answer, a statement refused) become one line in
    battrace/cli/known_errors.py.
    """
    from battrace.store.client import connect, embedded_store

    if not settings.clickhouse:
        require_home(settings)
    store = embedded_store(settings)  # the home's chDB store, or one BATTRACE_CLICKHOUSE names as chdb:///path
    if store is not None:
        if not Path(store).is_dir():
            raise FixableError(
                f"no ClickHouse store at {store}: run `battrace demo` first, "
                "or set BATTRACE_HOME / BATTRACE_CLICKHOUSE to where the data is"
            )
        require_free_store(Path(store))
    return connect(settings)


def trusted_keys(settings: Settings, pinned: tuple[str, ...]) -> list[Any]:
    from battrace.keys import KeyConfigError
    from battrace.tlog import InvalidKeyError, Verifier

    try:
        if pinned:
            return [Verifier.from_key(k) for k in pinned]
        keys = keyring(settings).verifiers()
    except (InvalidKeyError, KeyConfigError) as exc:
        raise click.UsageError(f"{exc}") from None
    if not keys:
        require_home(settings)
        raise click.ClickException(
            f"no verifier keys: none under {settings.keys_dir} and BATTRACE_VERIFIER_KEYS is empty; "
            "pass the log's key with --key name+keyid+key"
        )
    return keys


def print_report(report: Any, as_json: bool, what: str) -> None:
    if as_json:
        click.echo(json.dumps(report.to_json(), separators=(",", ":")))
        return
    console = Console()
    for f in report.failures:
        console.print(f"[red]FAIL[/] {f['entity']} seq {f['seq']}: {f['problem']}")
    console.print(f"checked {report.checked} {what}: " + ("[green]ok[/]" if report.ok else "[red]failed[/]"))


def call(fn: Callable[[], T]) -> T:
    from battrace.keys import KeyConfigError

    try:
        return fn()
    except KeyConfigError as exc:
        raise click.ClickException(str(exc)) from None
