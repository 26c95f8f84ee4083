"""`battrace witness`: run a witness, a separate party that cosigns checkpoints which extend what it has seen.

A witness lives in a home of its own (``--home``, never the operator's BATTRACE_HOME) with its own key; the
operator pins its verifier key (`battrace witness key`) and can then require witness cosignatures on checkpoints.
"""

from __future__ import annotations

from pathlib import Path

import click

HOME = click.option(
    "--home", required=True, type=click.Path(file_okay=False, path_type=Path), help="the witness's own directory"
)


@click.group(name="witness")
def witness_group() -> None:
    """Run a checkpoint witness (C2SP tlog-witness): init its home, print its key, serve it."""


@witness_group.command(name="init")
@HOME
@click.option("--name", required=True, help="the witness's name, e.g. witness.example/w1")
@click.option(
    "--log",
    "logs",
    multiple=True,
    required=True,
    metavar="ORIGIN=KEY",
    help="a log to witness and its verifier key (`battrace keys export`); ORIGIN ending in / covers ORIGIN<n>",
)
def init(home: Path, name: str, logs: tuple[str, ...]) -> None:
    """Create the home with a new witness key and the logs it trusts."""
    from battrace.stack.witness import WitnessHome, WitnessHomeError

    pinned = {}
    for entry in logs:
        origin, sep, key = entry.partition("=")
        if not sep:
            raise click.UsageError(f"--log {entry}: write it as ORIGIN=KEY")
        pinned[origin] = key
    try:
        cosigner = WitnessHome(home).init(name, pinned)
    except WitnessHomeError as e:
        raise click.ClickException(str(e)) from None
    click.echo(cosigner.key().to_key())


@witness_group.command(name="key")
@HOME
def key(home: Path) -> None:
    """Print the witness's verifier key (what a log operator and verifiers pin)."""
    from battrace.stack.witness import WitnessHome, WitnessHomeError

    try:
        click.echo(WitnessHome(home).cosigner().key().to_key())
    except WitnessHomeError as e:
        raise click.ClickException(str(e)) from None


@witness_group.command(name="serve")
@HOME
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8100, show_default=True, type=click.IntRange(1, 65535), help="TCP port")
def serve(home: Path, host: str, port: int) -> None:
    """Answer POST /add-checkpoint until Ctrl-C."""
    import uvicorn

    from battrace.api.witness import create_witness_app
    from battrace.cli.serve import check_port
    from battrace.stack.witness import WitnessHome, WitnessHomeError

    try:
        app = create_witness_app(WitnessHome(home))
    except WitnessHomeError as e:
        raise click.ClickException(str(e)) from None
    check_port(host, port)
    click.echo(f"witness of {home} on http://{host}:{port}/add-checkpoint; Ctrl-C stops", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
