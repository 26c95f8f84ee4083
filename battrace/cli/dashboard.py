"""`battrace dashboard`: the analyst report of a store as one offline HTML file, or the Grafana provisioning files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from battrace.cli.common import open_store, settings_or_exit, trusted_keys
from battrace.cli.known_errors import FixableError
from battrace.cli.witness_options import witness_quorum

VIEWS = ("shipment_transit", "hub_dwell", "checkpoint_health")  # battrace/store/ddl/006_dashboard_views.sql


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="directory to write battrace-dashboard.html into (created if missing)",
)
@click.option(
    "--grafana",
    "grafana_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="write the Grafana dashboards and provisioning files into this directory instead (reads no store)",
)
@click.option("--key", "keys", multiple=True, help="trusted verifier key name+keyid+key (repeatable)")
def dashboard(out_dir: Path | None, grafana_dir: Path | None, keys: tuple[str, ...]) -> None:
    """Draw the store's panels (carbon, recycled content, eligibility, flags, rejects, transit, pipeline health)
    into one self-contained HTML file: plotly.js embedded, nothing loaded from the network, each figure's numbers in
    a table beside it and the newest signed checkpoint of every log it was computed at.

    The store is verified first, as `battrace verify --all` does (chains, logs, checkpoint signatures, derived rows;
    witness cosignatures when BATTRACE_WITNESS_QUORUM asks for them). If verification fails the report is still
    written, marked NOT VERIFIED in a red banner at its top that names the failures, and the command exits 1; exit
    0 means the report shows verified data.

    With --grafana DIR it writes dashboards/battrace.json and the provisioning files for Grafana's ClickHouse
    plugin instead (deploy/grafana/ holds them), the same panel SQL as the report.
    """
    if (out_dir is None) == (grafana_dir is None):
        raise click.UsageError("give exactly one of --out DIR or --grafana DIR")
    if grafana_dir is not None:
        _write_grafana(grafana_dir)
        return
    assert out_dir is not None
    from battrace.report.dashboard import write_dashboard
    from battrace.report.dashboard_html import Verification
    from battrace.verify.chains import verify

    settings = settings_or_exit()
    trusted = trusted_keys(settings, keys)
    witnesses = witness_quorum(settings, (), None)
    client = open_store(settings)
    try:
        _require_views(client)
        report = verify(client, trusted, witnesses=witnesses)
        failures = tuple(f"{f['entity']}{_seq(f['seq'])}: {f['problem']}" for f in report.failures)
        verification = Verification(report.ok, report.checked, failures)
        path = write_dashboard(client, out_dir, verification)
    finally:
        client.close()
    if verification.ok:
        click.echo(f"report of the verified store ({report.checked} chains): {path}")
        return
    click.echo(f"report written, marked NOT VERIFIED ({len(failures)} verification failures): {path}", err=True)
    for line in failures[:5]:
        click.echo(f"  {line}", err=True)
    sys.exit(1)


def _seq(seq: object) -> str:
    return "" if seq is None else f" seq {seq}"


def _require_views(client: Any) -> None:
    """The dashboards' views exist: a store made by an older battrace lacks them until a worker applies the DDL."""
    found = {r[0] for r in client.query("SELECT name FROM system.tables WHERE database = 'battrace'").result_rows}
    missing = [f"battrace.{v}" for v in VIEWS if v not in found]
    if missing:
        raise FixableError(
            f"the store has no {', '.join(missing)}: it was made by an older battrace; start a worker on it once "
            "(`python -m processors worker` applies the DDL) and retry"
        )


def _write_grafana(directory: Path) -> None:
    from battrace.store.grafana_dashboards import grafana_files

    for relative, text in grafana_files().items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        click.echo(path)
