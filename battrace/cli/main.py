"""The `battrace` command line: one module per command, gathered into one group here."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

import click

from battrace.cli.archive import archive_cmd
from battrace.cli.audit import audit
from battrace.cli.bench import bench
from battrace.cli.cosign import cosign
from battrace.cli.dashboard import dashboard
from battrace.cli.demo import demo
from battrace.cli.disposition import disposition
from battrace.cli.epcis import epcis_group
from battrace.cli.export import export_cmd
from battrace.cli.ids import id_group
from battrace.cli.keys import keys_group
from battrace.cli.known_errors import one_line_errors
from battrace.cli.passport import passport_cmd
from battrace.cli.query import query
from battrace.cli.report import report
from battrace.cli.schemas import schemas_group
from battrace.cli.serve import serve
from battrace.cli.status import status
from battrace.cli.topics import topics_group
from battrace.cli.trace import trace
from battrace.cli.verify import verify_cmd
from battrace.cli.witness import witness_group

COMMANDS = (
    archive_cmd,
    audit,
    bench,
    cosign,
    dashboard,
    demo,
    disposition,
    epcis_group,
    export_cmd,
    id_group,
    keys_group,
    passport_cmd,
    query,
    report,
    schemas_group,
    serve,
    status,
    topics_group,
    trace,
    verify_cmd,
    witness_group,
)


def _version() -> str:
    try:
        return version("battrace")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown (not installed)"


class BattraceGroup(click.Group):
    """The command group: every command (and sub-group) runs inside one_line_errors, so a failure the user can fix
    is one line and exit 2 in every command, and a bug still shows its traceback."""

    def invoke(self, ctx: click.Context) -> object:
        with one_line_errors():
            return super().invoke(ctx)


@click.group(cls=BattraceGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", "-V", prog_name="battrace", message="%(prog)s %(version)s")
def cli() -> None:
    """battrace: streaming traceability for lithium-ion batteries."""


for command in COMMANDS:
    cli.add_command(command)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted; the embedded broker and workers were stopped", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
