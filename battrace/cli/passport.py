"""`battrace passport`: write a battery's passport for one audience, with its offline bundle beside it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from battrace.cli.common import open_store, settings_or_exit, trusted_keys

AUDIENCES = ("public", "legitimate_interest", "authority")  # battrace/passport/access.py (checked by a unit test)


def bundle_path(out: Path) -> Path:
    """``passport.json`` -> ``passport.bundle.json``, in the same directory."""
    return out.with_name(f"{out.stem}.bundle.json")


@click.command(name="passport")
@click.option("--battery", "battery_id", required=True, help="GB/T 34014 code of the battery")
@click.option(
    "--tier",
    "audience",
    type=click.Choice(AUDIENCES),
    default="public",
    show_default=True,
    help="who the file is for: public (anyone), legitimate_interest (repairers, remanufacturers, recyclers: "
    "composition, components, dismantling, safety, state of health), authority (notified bodies, market "
    "surveillance, the Commission: test reports, provenance, flags); hand the file to that audience only",
)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="passport file")
def passport_cmd(battery_id: str, audience: str, out: Path) -> None:
    """Write the EU battery passport (Annex XIII) of a verified battery as AUDIENCE may see it, and the battery's
    bundle beside it (OUT with .bundle.json) so both can be checked offline with `battrace verify --bundle`.

    No token is needed: whoever runs this owns the store. The file holds every attribute the tier may see, so it is
    for that audience only. A battery that does not pass `battrace verify --battery` gets no passport (exit 1).
    """
    from battrace.domain.battery_code import BatteryCodeError, parse
    from battrace.passport.assemble import assemble, for_audience
    from battrace.passport.gather import NotVerified, UnknownBattery, gather
    from battrace.verify.export import NothingToExport, build_bundle

    try:
        parse(battery_id)
    except BatteryCodeError as exc:
        raise click.UsageError(f"--battery {battery_id}: not a GB/T 34014 code: {exc.message}") from None
    settings = settings_or_exit()
    verifiers = trusted_keys(settings, ())
    bundle_file = bundle_path(out)
    client = open_store(settings)
    try:
        facts = gather(client, verifiers, battery_id, bundle_file.name)
        bundle = build_bundle(client, "battery", battery_id, verifiers)
    except UnknownBattery as exc:
        raise click.UsageError(f"{exc}: check the code, or BATTRACE_HOME / BATTRACE_CLICKHOUSE") from None
    except (NotVerified, NothingToExport) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        client.close()
    document = for_audience(assemble(facts), audience)
    out.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    bundle_file.write_text(json.dumps(bundle, indent=1, sort_keys=True) + "\n")
    click.echo(f"wrote {out} ({audience} passport) and {bundle_file} ({len(bundle['records'])} records)")
