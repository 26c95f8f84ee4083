"""`battrace status`: how far each stage of a running pipeline is behind, and how old each log's checkpoint is.

Read from the broker named by BATTRACE_KAFKA (battrace/stack/pipeline_status.py), so it works next to a running
worker, which holds the embedded store.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from battrace.cli.known_errors import FixableError

if TYPE_CHECKING:  # imported when the command runs: the Kafka clients load only then
    from battrace.stack.pipeline_status import PipelineStatus

NO_BROKER = (
    "BATTRACE_KAFKA is not set: `battrace status` reads the pipeline's broker; set BATTRACE_KAFKA to its bootstrap "
    "servers (e.g. 127.0.0.1:9092)"
)
STAGE_COLUMNS = ("stage", "group", "topic", "committed", "end", "lag")
LOG_COLUMNS = ("log", "checkpoint size", "age (s)")


def stage_rows(status: PipelineStatus) -> list[tuple[str, ...]]:
    """One row per stage and topic, in STAGE_COLUMNS order."""
    return [(r.stage, r.group, r.topic, str(r.committed), str(r.end), str(r.lag)) for r in status.lags]


def log_rows(status: PipelineStatus) -> list[tuple[str, ...]]:
    """One row per log, in LOG_COLUMNS order."""
    return [(cp.log_id, str(cp.size), f"{cp.age_s:.1f}") for cp in status.checkpoints]


def summary(status: PipelineStatus) -> str:
    """The last line: the total lag and the stages behind, and how many logs have a signed checkpoint."""
    total = sum(r.lag for r in status.lags)
    behind = sorted({r.stage for r in status.lags if r.lag})
    logs = len(status.checkpoints)
    lag = "no lag: every stage has committed everything" if not total else f"lag {total} ({', '.join(behind)})"
    return f"{lag}; {logs} log(s) with a signed checkpoint"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def status(as_json: bool) -> None:
    """Per stage (ingest, seal, rejects, reports) the lag of its consumer group on each topic (end offset minus
    committed offset), and each log's newest signed checkpoint: its size and age. Reads the broker of
    BATTRACE_KAFKA; exits 2 when it is not set or does not answer."""
    from battrace.cli.common import settings_or_exit
    from battrace.stack.pipeline_status import BrokerProblem, pipeline_status

    settings = settings_or_exit()
    if not settings.kafka:
        raise FixableError(NO_BROKER)
    try:
        found = pipeline_status(settings, settings.kafka)
    except BrokerProblem as exc:
        raise FixableError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(found.as_json(), separators=(",", ":")))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    stages = Table(title=f"consumer lag at {found.bootstrap}")
    for column in STAGE_COLUMNS:
        stages.add_column(column, justify="right" if column in ("committed", "end", "lag") else "left")
    for row in stage_rows(found):
        stages.add_row(*row)
    console.print(stages)
    logs = Table(title="newest signed checkpoints")
    for column in LOG_COLUMNS:
        logs.add_column(column, justify="left" if column == "log" else "right")
    for row in log_rows(found):
        logs.add_row(*row)
    console.print(logs)
    console.print(summary(found))
