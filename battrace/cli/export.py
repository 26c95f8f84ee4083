"""`battrace export`: a self-contained bundle of one battery's or consignment's records that verifies offline."""

from __future__ import annotations

import json
from pathlib import Path

import click

from battrace.cli.common import open_store, settings_or_exit, trusted_keys
from battrace.cli.entity_ids import check_battery_code, require_in_store
from battrace.domain.entities import BATTERY, SHIPMENT


@click.command(name="export")
@click.option("--battery", "battery_id", help="GB/T 34014 code of the battery")
@click.option("--shipment", "shipment_id", help="consignment id (the shipment's own chain)")
@click.option("--report", "report_id", help="consignment id: its chain plus its signed traceability report")
@click.option(
    "--archive",
    "archive_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="build the bundle from an archive directory instead of the store (as of its archive checkpoint)",
)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="bundle file")
def export_cmd(
    battery_id: str | None, shipment_id: str | None, report_id: str | None, archive_dir: Path | None, out: Path
) -> None:
    """Write a self-contained bundle (records, proofs, checkpoints, keys) that verifies offline.

    Exits 2 if --battery is not a GB/T 34014 code, 1 if the store holds no record of the battery or consignment.
    """
    if sum(map(bool, (battery_id, shipment_id, report_id))) != 1:
        raise click.UsageError("give exactly one of --battery ID, --shipment ID or --report SHIPMENT_ID")
    from battrace.verify.export import NothingToExport, add_report, build_bundle

    if battery_id:
        check_battery_code(battery_id)
    kind, ident = (BATTERY, battery_id) if battery_id else (SHIPMENT, shipment_id or report_id or "")
    settings = settings_or_exit()
    verifiers = trusted_keys(settings, ())
    if archive_dir is not None:
        bundle = _from_archive(archive_dir, kind, ident, verifiers, bool(report_id))
        out.write_text(json.dumps(bundle, indent=1, sort_keys=True) + "\n")
        click.echo(f"wrote {out}: {len(bundle['records'])} records from the archive {archive_dir}")
        return
    client = open_store(settings)
    try:
        require_in_store(client, kind, ident)
        bundle = build_bundle(client, kind, ident, verifiers)
        if report_id:
            bundle = add_report(bundle)
    except NothingToExport as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        client.close()
    out.write_text(json.dumps(bundle, indent=1, sort_keys=True) + "\n")
    click.echo(f"wrote {out}: {len(bundle['records'])} records, {len(bundle['checkpoints'])} checkpoints")


def _from_archive(directory: Path, kind: str, ident: str, verifiers: list, with_report: bool) -> dict:
    """The bundle built from a verified archive, with no store (battrace/verify/archive_bundle.py)."""
    from battrace.verify.archive_bundle import ArchiveNotVerified, bundle_from_archive
    from battrace.verify.archive_files import ArchiveError
    from battrace.verify.export import NothingToExport, add_report

    try:
        bundle = bundle_from_archive(directory, kind, ident, verifiers)
        return add_report(bundle) if with_report else bundle
    except ArchiveError as exc:
        raise click.UsageError(str(exc)) from None
    except (ArchiveNotVerified, NothingToExport) as exc:
        raise click.ClickException(str(exc)) from None
