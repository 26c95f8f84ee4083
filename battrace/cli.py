"""The `battrace` command line: demo and verify on the embedded stack or on configured services."""

from __future__ import annotations

import json
import sys
from pathlib import Path

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
    from battrace.stack.broker import BrokerError
    from battrace.stack.worker import WorkerError

    settings = _settings()
    console = Console(stderr=as_json)
    try:
        result = run_demo(settings, events, seed, console, invalid_share)
    except (BrokerError, WorkerError) as exc:  # their messages say what failed and where its log is
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
    reported = result.reports == result.delivered
    console.print(
        f"signed reports: {result.reports} for {result.delivered} delivered consignments"
        + ("" if reported else " [red](missing reports)[/]")
    )
    if as_json:
        click.echo(json.dumps(result.to_json(), separators=(",", ":")))
    if not (balanced and result.verified and reported):
        sys.exit(1)


def _keyring(settings: Settings):
    from battrace.keys import KeyRing

    return KeyRing(settings)


def _client(settings: Settings):
    from battrace.stack.clickhouse import connect

    if not settings.clickhouse and not settings.clickhouse_path.exists():
        raise click.ClickException(
            f"no ClickHouse store at {settings.clickhouse_path}: run `battrace demo` first, "
            "or set BATTRACE_HOME / BATTRACE_CLICKHOUSE to where the data is"
        )
    return connect(settings)


def _trusted_keys(settings: Settings, pinned: tuple[str, ...]) -> list:
    from battrace.keys import KeyConfigError
    from battrace.tlog import InvalidKeyError, Verifier

    try:
        if pinned:
            return [Verifier.from_key(k) for k in pinned]
        keys = _keyring(settings).verifiers()
    except (InvalidKeyError, KeyConfigError) as exc:
        raise click.UsageError(f"{exc}") from None
    if not keys:
        raise click.ClickException(
            f"no verifier keys: none under {settings.keys_dir} and BATTRACE_VERIFIER_KEYS is empty; "
            "pass the log's key with --key name+keyid+key"
        )
    return keys


def _print_report(report, as_json: bool, what: str) -> None:
    if as_json:
        click.echo(json.dumps(report.to_json(), separators=(",", ":")))
        return
    console = Console()
    for f in report.failures:
        console.print(f"[red]FAIL[/] {f['entity']} seq {f['seq']}: {f['problem']}")
    console.print(f"checked {report.checked} {what}: " + ("[green]ok[/]" if report.ok else "[red]failed[/]"))


@cli.command(name="verify")
@click.option("--battery", "battery_id", help="GB/T 34014 code of the battery to verify")
@click.option("--all", "verify_all", is_flag=True, help="verify every chain, log and checkpoint")
@click.option("--bundle", "bundle_path", type=click.Path(dir_okay=False, path_type=Path), help="verify a bundle file")
@click.option("--key", "keys", multiple=True, help="trusted verifier key name+keyid+key (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="print checked, ok, failures as JSON")
def verify_cmd(
    battery_id: str | None, verify_all: bool, bundle_path: Path | None, keys: tuple[str, ...], as_json: bool
) -> None:
    """Recompute chains, check log inclusion, checkpoint signatures and consistency; exit 0 only if all hold.

    With --bundle, checks an exported bundle offline (no Kafka, no ClickHouse). Without --key it trusts
    the keys in BATTRACE_VERIFIER_KEYS, or else those carried by the bundle (self-consistency only).
    """
    if sum(map(bool, (battery_id, verify_all, bundle_path))) != 1:
        raise click.UsageError("give exactly one of --battery ID, --all or --bundle FILE")
    settings = _settings()
    if bundle_path is not None:
        from battrace.bundle import BundleError, load_bundle, verify_bundle
        from battrace.keys import KeyConfigError
        from battrace.tlog import InvalidKeyError, Verifier

        try:
            bundle = load_bundle(bundle_path.read_bytes())
            pinned = [Verifier.from_key(k) for k in keys] if keys else _keyring(settings).configured_verifiers()
        except FileNotFoundError:
            raise click.UsageError(f"no bundle file {bundle_path}") from None
        except (BundleError, InvalidKeyError, KeyConfigError) as exc:
            raise click.UsageError(f"{bundle_path}: {exc}") from None
        report = verify_bundle(bundle, pinned)
        _print_report(report, as_json, f"records of {report.subject} (keys: {report.trust})")
        sys.exit(0 if report.ok else 1)
    from battrace.verify import verify

    trusted = _trusted_keys(settings, keys)
    client = _client(settings)
    try:
        report = verify(client, trusted, battery_id)
    finally:
        client.close()
    _print_report(report, as_json, "chains")
    sys.exit(0 if report.ok else 1)


@cli.command(name="export")
@click.option("--battery", "battery_id", help="GB/T 34014 code of the battery")
@click.option("--shipment", "shipment_id", help="consignment id (the shipment's own chain)")
@click.option("--report", "report_id", help="consignment id: its chain plus its signed traceability report")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="bundle file")
def export_cmd(battery_id: str | None, shipment_id: str | None, report_id: str | None, out: Path) -> None:
    """Write a self-contained bundle (records, proofs, checkpoints, keys) that verifies offline."""
    if sum(map(bool, (battery_id, shipment_id, report_id))) != 1:
        raise click.UsageError("give exactly one of --battery ID, --shipment ID or --report SHIPMENT_ID")
    from battrace.export import NothingToExport, add_report, build_bundle

    settings = _settings()
    verifiers = _trusted_keys(settings, ())
    client = _client(settings)
    try:
        kind, ident = ("battery", battery_id) if battery_id else ("shipment", shipment_id or report_id)
        bundle = build_bundle(client, kind, ident, verifiers)
        if report_id:
            bundle = add_report(client, bundle, _keyring(settings).report_verifiers())
    except NothingToExport as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        client.close()
    out.write_text(json.dumps(bundle, indent=1, sort_keys=True) + "\n")
    click.echo(f"wrote {out}: {len(bundle['records'])} records, {len(bundle['checkpoints'])} checkpoints")


@cli.group(name="keys", invoke_without_command=True)
@click.pass_context
def keys_group(ctx: click.Context) -> None:
    """Show the verifier keys (default), export them, rotate or retire a signing key."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(keys_show)


@keys_group.command(name="show")
@click.option("--json", "as_json", is_flag=True)
def keys_show(as_json: bool) -> None:
    """List the active signing keys and every trusted verifier key."""
    settings = _settings()
    ring = _keyring(settings)
    active = {s.key_id.hex() for s in _call(lambda: ring.signers(generate=False))}
    rows = [
        {"key_id": v.key_id.hex(), "active": v.key_id.hex() in active, "verifier_key": v.to_key()}
        for v in _call(ring.verifiers)
    ]
    if as_json:
        click.echo(json.dumps(rows, separators=(",", ":")))
        return
    table = Table(title=f"verifier keys ({settings.keys_dir})")
    table.add_column("key id")
    table.add_column("signing")
    table.add_column("verifier key", overflow="fold")
    for r in rows:
        table.add_row(r["key_id"], "yes" if r["active"] else "no (retired or configured)", r["verifier_key"])
    Console().print(table if rows else "no keys yet: they are created by the first `battrace demo` or worker")


@keys_group.command(name="export")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="file (default: stdout)")
def keys_export(out: Path | None) -> None:
    """Write the verifier keys, one per line: what a third party pins to verify checkpoints."""
    text = "".join(v.to_key() + "\n" for v in _call(_keyring(_settings()).verifiers))
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text)
        click.echo(f"wrote {out}")


@keys_group.command(name="rotate")
def keys_rotate() -> None:
    """Add a new signing key; old and new both sign until `battrace keys retire OLD_ID`."""
    signer = _call(_keyring(_settings()).rotate)
    click.echo(f"new signing key {signer.key_id.hex()}: {signer.verifier_key()}")
    click.echo("publish it to verifiers; workers pick it up at their next start")


@keys_group.command(name="retire")
@click.argument("key_id")
def keys_retire(key_id: str) -> None:
    """Stop signing with KEY_ID; its public key stays trusted for the checkpoints it signed."""
    verifier = _call(lambda: _keyring(_settings()).retire(key_id))
    click.echo(f"retired {verifier.key_id.hex()} (still trusted for verification)")


def _call(fn):
    from battrace.keys import KeyConfigError

    try:
        return fn()
    except KeyConfigError as exc:
        raise click.ClickException(str(exc)) from None


@cli.command()
@click.argument("sql")
@click.option("--table", "as_table", is_flag=True, help="print a table with column names instead of JSON rows")
def query(sql: str, as_table: bool) -> None:
    """Run one SQL statement against the configured ClickHouse; prints one JSON array per row."""
    settings = _settings()
    client = _client(settings)
    try:
        if sql.lstrip().upper().startswith(("SELECT", "WITH", "SHOW", "DESCRIBE")):
            result = client.query(sql)
            if as_table:
                table = Table(*result.column_names)
                for row in result.result_rows:
                    table.add_row(*(_cell(v) for v in row))
                Console(width=200).print(table)
            else:
                for row in result.result_rows:
                    click.echo(json.dumps(list(row), default=str))
        else:
            client.command(sql, settings={"mutations_sync": 2})
    finally:
        client.close()


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(map(_cell, value))
    return str(value)


def _register() -> None:
    from battrace.audit_cli import audit
    from battrace.bench_cli import bench
    from battrace.id_cli import id_group
    from battrace.report_cli import report
    from battrace.serve_cli import serve
    from battrace.trace_cli import trace

    cli.add_command(audit)
    cli.add_command(bench)
    cli.add_command(id_group)
    cli.add_command(report)
    cli.add_command(serve)
    cli.add_command(trace)


_register()


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted; the embedded broker and workers were stopped", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
