"""`battrace topics`: the topics of streams/topics.py on an external Kafka: show them, or create the missing ones.

A worker creates only its own changelogs; the source and internal topics must exist with their partitions and
settings (compaction of registry.entities, the broker's append time on sources) before the first worker starts.
The compose file's one-shot `topics` job runs `battrace topics create`.
"""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table


def _bootstrap() -> tuple[str, int]:
    from battrace.cli.common import settings_or_exit
    from battrace.cli.known_errors import FixableError
    from battrace.cli.preflight import require_kafka

    settings = settings_or_exit()
    if not settings.kafka:
        raise FixableError("no Kafka named: set BATTRACE_KAFKA to its bootstrap servers (the embedded broker's topics "
                           "are created by `battrace demo`)")
    require_kafka(settings.kafka)
    return settings.kafka, settings.partitions


@click.group(name="topics")
def topics_group() -> None:
    """The topics battrace reads and writes, on the Kafka named by BATTRACE_KAFKA."""


@topics_group.command(name="create")
@click.option("--json", "as_json", is_flag=True, help="print one JSON line: the topics created and those present")
def create(as_json: bool) -> None:
    """Create every missing topic with BATTRACE_PARTITIONS partitions and its settings; existing ones are left."""
    from streams.kafka import ensure_topics, topic_partitions
    from streams.topics import ALL

    bootstrap, partitions = _bootstrap()
    before = topic_partitions(bootstrap)
    ensure_topics(bootstrap, partitions)
    created = [t.name for t in ALL if t.name not in before]
    if as_json:
        click.echo(json.dumps({"created": created, "present": [t.name for t in ALL if t.name in before]}))
        return
    for spec in ALL:
        state = f"created with {partitions} partitions" if spec.name in created else f"present ({before[spec.name]})"
        click.echo(f"{spec.name}: {state}")


@topics_group.command(name="show")
@click.option("--json", "as_json", is_flag=True, help="print one JSON line per topic")
def show(as_json: bool) -> None:
    """Each topic with its partitions on the broker (missing: not created yet) and the settings battrace gives it."""
    from streams.kafka import topic_partitions
    from streams.topics import ALL

    bootstrap, _ = _bootstrap()
    present = topic_partitions(bootstrap)
    rows = [(s.name, present.get(s.name), s.config, s.doc) for s in ALL]
    if as_json:
        for name, parts, config, doc in rows:
            click.echo(json.dumps({"topic": name, "partitions": parts, "config": config, "doc": doc}))
        return
    table = Table(title=f"topics on {bootstrap}")
    for column in ("topic", "partitions", "settings", "holds"):
        table.add_column(column)
    for name, parts, config, doc in rows:
        settings = ", ".join(f"{k}={v}" for k, v in config.items())
        table.add_row(name, "missing" if parts is None else str(parts), settings, doc)
    Console().print(table)
