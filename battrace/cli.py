"""The `battrace` command line: demo and verify on the embedded stack or on configured services."""

from __future__ import annotations

import json
import sys

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from battrace.settings import Settings

EXIT_USAGE = 2


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"BATTRACE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise click.UsageError(f"invalid setting: {problems}. Fix the environment variable and retry.") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """battrace: streaming traceability for lithium-ion batteries."""


@cli.command()
@click.option(
    "--events", default=20_000, show_default=True, type=click.IntRange(min=1), help="source events to publish"
)
@click.option("--seed", default=7, show_default=True, type=int, help="simulator seed (same seed, same story)")
@click.option("--invalid-share", default=0.02, show_default=True, type=click.FloatRange(0, 0.5))
@click.option("--json", "as_json", is_flag=True, help="end with one line of JSON")
def demo(events: int, seed: int, invalid_share: float, as_json: bool) -> None:
    """Run the main job on the embedded stack: simulate, process, seal, store, verify."""
    from battrace.demo import run_demo

    settings = _settings()
    console = Console(stderr=as_json)
    result = run_demo(settings, events, seed, console, invalid_share)
    table = Table(title="battrace demo", show_header=False)
    for key, value in result.to_json().items():
        if key != "verify_failures":
            table.add_row(key, str(value))
    console.print(table)
    balanced = result.published == result.sealed + result.rejected
    console.print(
        f"published {result.published} = sealed {result.sealed} + rejected {result.rejected}: "
        + ("[green]balanced[/]" if balanced else "[red]NOT balanced[/]")
    )
    console.print("verification: " + ("[green]every chain verifies[/]" if result.verified else "[red]FAILED[/]"))
    if as_json:
        click.echo(json.dumps(result.to_json(), separators=(",", ":")))
    if not (balanced and result.verified):
        sys.exit(1)


@cli.command(name="verify")
@click.option("--battery", "battery_id", help="GB/T 34014 code of the battery to verify")
@click.option("--all", "verify_all", is_flag=True, help="verify every chain")
@click.option("--json", "as_json", is_flag=True, help="print checked, ok, failures as JSON")
def verify_cmd(battery_id: str | None, verify_all: bool, as_json: bool) -> None:
    """Recompute chains from ClickHouse; exit 0 only if everything checks out."""
    if bool(battery_id) == verify_all:
        raise click.UsageError("give exactly one of --battery ID or --all")
    from battrace.stack.clickhouse import connect
    from battrace.verify import verify

    settings = _settings()
    if not settings.clickhouse and not settings.clickhouse_path.exists():
        raise click.ClickException(
            f"no ClickHouse store at {settings.clickhouse_path}: run `battrace demo` first, "
            "or set BATTRACE_HOME / BATTRACE_CLICKHOUSE to where the data is"
        )
    client = connect(settings)
    try:
        report = verify(client, battery_id)
    finally:
        client.close()
    if as_json:
        click.echo(json.dumps(report.to_json(), separators=(",", ":")))
    else:
        console = Console()
        for f in report.failures:
            console.print(f"[red]FAIL[/] {f['entity']} seq {f['seq']}: {f['problem']}")
        console.print(f"checked {report.checked} chains: " + ("[green]ok[/]" if report.ok else "[red]failed[/]"))
    sys.exit(0 if report.ok else 1)


@cli.command()
@click.argument("sql")
def query(sql: str) -> None:
    """Run one SQL statement against the configured ClickHouse; prints one JSON array per row."""
    from battrace.stack.clickhouse import connect

    settings = _settings()
    client = connect(settings)
    try:
        if sql.lstrip().upper().startswith(("SELECT", "WITH", "SHOW", "DESCRIBE")):
            for row in client.query(sql).result_rows:
                click.echo(json.dumps(list(row), default=str))
        else:
            client.command(sql, settings={"mutations_sync": 2})
    finally:
        client.close()


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted; the embedded broker and workers were stopped", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
