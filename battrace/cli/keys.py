"""`battrace keys`: show, export, rotate and retire the signing and verifier keys."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from battrace.cli.common import call, keyring, settings_or_exit
from battrace.cli.preflight import require_home
from battrace.report.signing import ROLES
from battrace.settings import Settings


@click.group(name="keys", invoke_without_command=True)
@click.pass_context
def keys_group(ctx: click.Context) -> None:
    """Show the verifier keys (default), export them, rotate or retire a signing key."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(keys_show)


def require_home_for_keys(settings: Settings, report_roles: bool = False) -> None:
    """Keys read from the home need the home: a missing one is named, not created (report keys live only there)."""
    if report_roles or not (settings.signing_keys or settings.verifier_keys):
        require_home(settings)


@keys_group.command(name="show")
@click.option("--json", "as_json", is_flag=True)
def keys_show(as_json: bool) -> None:
    """List the active signing keys and every trusted verifier key."""
    settings = settings_or_exit()
    require_home_for_keys(settings)
    ring = keyring(settings)
    active = {s.key_id.hex() for s in call(lambda: ring.signers(generate=False))}
    rows = [
        {"key_id": v.key_id.hex(), "active": v.key_id.hex() in active, "verifier_key": v.to_key()}
        for v in call(ring.verifiers)
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
@click.option(
    "--report-roles",
    is_flag=True,
    help="the report approval keys instead, one ROLE=KEY per line (what `verify --report-key` takes)",
)
def keys_export(out: Path | None, report_roles: bool) -> None:
    """Write the verifier keys, one per line: what a third party pins to verify checkpoints (or, with
    --report-roles, to certify reports)."""
    settings = settings_or_exit()
    require_home_for_keys(settings, report_roles)
    ring = keyring(settings)
    if report_roles:
        roles = call(ring.report_verifiers)
        text = "".join(f"{role}={v.to_key()}\n" for role, keys in sorted(roles.items()) for v in keys)
    else:
        text = "".join(v.to_key() + "\n" for v in call(ring.verifiers))
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text)
        click.echo(f"wrote {out}")


@keys_group.command(name="rotate")
def keys_rotate() -> None:
    """Add a new signing key; old and new both sign until `battrace keys retire OLD_ID`."""
    signer = call(keyring(settings_or_exit()).rotate)
    click.echo(f"new signing key {signer.key_id.hex()}: {signer.verifier_key()}")
    click.echo("publish it to verifiers; workers pick it up at their next start")


@keys_group.command(name="retire")
@click.argument("key_id")
def keys_retire(key_id: str) -> None:
    """Stop signing with KEY_ID; its public key stays trusted for the checkpoints it signed."""
    verifier = call(lambda: keyring(settings_or_exit()).retire(key_id))
    click.echo(f"retired {verifier.key_id.hex()} (still trusted for verification)")


@keys_group.command(name="trust-report")
@click.argument("role", type=click.Choice(ROLES))
@click.argument("key")
def keys_trust_report(role: str, key: str) -> None:
    """Pin KEY (name+keyid+key) as the report-approval key of ROLE in this home.

    The operator pins the co-signer's key (`battrace cosign key` prints it) as third_party_verifier; the co-signer
    pins the manufacturer's QA key as manufacturer_qa. A report is certified only with keys pinned here.
    """
    from battrace.tlog import InvalidKeyError, Verifier

    try:
        verifier = Verifier.from_key(key)
    except InvalidKeyError as exc:
        raise click.UsageError(f"KEY: {exc}; give the name+keyid+key string the other party printed") from None
    path = call(lambda: keyring(settings_or_exit()).pin_report_key(role, verifier))
    click.echo(f"pinned {verifier.key_id.hex()} for {role} in {path}")
