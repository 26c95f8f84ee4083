"""`battrace bench`: the command line of the pipeline benchmark (battrace/runs/bench.py says what it measures)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from click.core import ParameterSource
from rich.console import Console
from rich.table import Table


@click.command()
@click.option(
    "--events",
    default=20_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="simulator events to measure (the full story); not together with --batteries",
)
@click.option(
    "--batteries",
    type=click.IntRange(min=1),
    help="instead of --events (not both): N Commissioned events, each a new battery in state "
    "(with --rate, plus 100 warm-up batteries)",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    help="offer events at this many per second while the worker runs, and measure event-to-sealed latency",
)
@click.option("--seed", default=7, show_default=True, type=int, help="simulator seed (same seed, same story)")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="worker processes (more than 1 needs a ClickHouse server in BATTRACE_CLICKHOUSE)",
)
@click.option(
    "--profile",
    type=click.Path(dir_okay=False, path_type=Path),
    help="record the (first) worker with py-spy from its first commit (with --rate: from the first paced event) "
    "until caught up, into this file: .svg flame graph, .json speedscope, else raw collapsed stacks",
)
@click.option(
    "--restart",
    is_flag=True,
    help="after the load is sealed, SIGKILL the worker, publish 200 events about its batteries and start a new "
    "worker: reports recovery_s (kill -> that batch sealed) and recovery_replayed (changelog records the new worker "
    "reads back: all of them with memory://, those after the stores' persisted offsets with rocksdb://) and "
    "recovery_phases (seconds after the kill at which the new worker was spawned, imported, joined, recovered its "
    "table, ingested and stored the batch, and resumed its logs); not with --rate or --workers",
)
@click.option("--json", "as_json", is_flag=True, help="print one line of JSON instead of a table")
@click.option(
    "--broker",
    type=click.Choice(["tansu", "kafka"]),
    default=None,
    help="the broker to start (default BATTRACE_BROKER, else tansu); kafka = Apache Kafka, needs Java 17+ and Maven",
)
@click.pass_context
def bench(
    ctx: click.Context,
    events: int,
    batteries: int | None,
    rate: float | None,
    seed: int,
    workers: int,
    profile: Path | None,
    restart: bool,
    as_json: bool,
    broker: str | None,
) -> None:
    """Measure pipeline throughput (and with --rate, latency) against a raw consumer, on the embedded stack; with
    --restart, also the time a new worker takes to seal again after the first was killed.

    Runs under $BATTRACE_HOME/bench with a fresh broker, chDB store and table directory.
    """
    if batteries is not None and ctx.get_parameter_source("events") is not ParameterSource.DEFAULT:
        raise click.UsageError("--events and --batteries exclude each other: --batteries sets the events")
    if restart and (rate is not None or workers > 1):
        raise click.UsageError(
            "--restart times one worker's recovery after a throughput run: drop --rate and --workers"
        )
    from battrace.cli.common import settings_or_exit
    from battrace.runs.bench import BenchError, bench_settings, iter_rows, run_bench
    from battrace.stack.broker import BrokerError
    from battrace.stack.worker import WorkerError

    settings = bench_settings(settings_or_exit())
    if broker:
        settings = settings.model_copy(update={"broker": broker})
    console = Console(stderr=as_json)
    if settings.kafka:
        console.print("[yellow]BATTRACE_KAFKA is ignored: the bench runs on a fresh embedded broker[/]")
    try:
        result = run_bench(
            settings,
            events,
            seed,
            console,
            rate=rate,
            workers=workers,
            profile=profile,
            batteries=batteries,
            restart=restart,
        )
    except (BenchError, BrokerError, WorkerError) as exc:  # their messages say what failed and where its log is
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result.to_json(), separators=(",", ":")))
        return
    table = Table(title="battrace bench", show_header=False)
    for key, value in iter_rows(result):
        table.add_row(key, value)
    console.print(table)


if __name__ == "__main__":
    bench(sys.argv[1:])
