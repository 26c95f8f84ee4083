"""`battrace demo`: the main job on the embedded stack, with its balance, verification and reports."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from battrace.cli.common import settings_or_exit
from battrace.cli.preflight import require_free_store, require_kafka


@click.command()
@click.option(
    "--events", default=20_000, show_default=True, type=click.IntRange(min=1), help="source events to publish"
)
@click.option("--seed", default=7, show_default=True, type=int, help="simulator seed (same seed, same story)")
@click.option("--invalid-share", default=0.02, show_default=True, type=click.FloatRange(0, 0.5))
@click.option("--json", "as_json", is_flag=True, help="end with one line of JSON")
@click.option(
    "--broker",
    type=click.Choice(["tansu", "kafka"]),
    default=None,
    help="the broker to start (default BATTRACE_BROKER, else tansu); kafka = Apache Kafka, needs Java 17+ and Maven",
)
def demo(events: int, seed: int, invalid_share: float, as_json: bool, broker: str | None) -> None:
    """Run the main job on the embedded stack: simulate, process, seal, store, verify.

    It starts from an empty embedded store: an existing one under BATTRACE_HOME is replaced (it says so first), and
    refused while another process (`battrace serve`, a worker) holds it.
    """
    from battrace.runs.demo import run_demo
    from battrace.stack.broker import BrokerError
    from battrace.stack.witness_server import WitnessServerError
    from battrace.stack.worker import WorkerError

    settings = settings_or_exit()
    if broker:
        settings = settings.model_copy(update={"broker": broker})
    console = Console(stderr=as_json)
    if settings.kafka:
        require_kafka(settings.kafka)
    if not settings.clickhouse:  # the demo starts from an empty embedded store: say so, and never under a reader
        require_free_store(settings.clickhouse_path)
        if settings.clickhouse_path.exists():
            click.echo(f"replacing the store at {settings.clickhouse_path}", err=as_json)  # unwrapped, unlike rich
    try:
        result = run_demo(settings, events, seed, console, invalid_share)
    except (BrokerError, WorkerError, WitnessServerError) as exc:  # their messages say what failed and where its log is
        raise click.ClickException(str(exc)) from None
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
    cosigned = result.logs > 0 and result.cosigned_logs == result.logs
    console.print(
        f"witness: the newest checkpoint of {result.cosigned_logs} of {result.logs} logs is cosigned by "
        f"{result.witness}" + ("" if cosigned else " [red](missing cosignatures)[/]")
    )
    reported = result.reports == result.delivered
    console.print(
        f"signed reports: {result.reports} for {result.delivered} delivered consignments"
        + ("" if reported else " [red](missing reports)[/]")
    )
    print_certification(console, result.certification)
    console.print(f"analyst report: {result.dashboard}")
    if as_json:
        click.echo(json.dumps(result.to_json(), separators=(",", ":")))
    if not (balanced and result.verified and reported):
        sys.exit(1)


def print_certification(console: Console, certification: dict) -> None:
    """What the co-signer (a second home, its own key) made of the reports: certified, or refused and why."""
    if not certification:
        return
    console.print(
        f"co-signed and certified: {certification['certified']}, refused by the co-signer: {certification['refused']}"
        + (f", not reviewed: {certification['unreviewed']}" if certification["unreviewed"] else "")
    )
    for reason, count in certification["reasons"].items():
        console.print(f"  refused for {reason}: {count}")
