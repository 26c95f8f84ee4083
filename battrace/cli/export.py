"""`battrace export`: a self-contained bundle of one battery's or consignment's records that verifies offline."""

from __future__ import annotations

import json
from pathlib import Path

import click

from battrace.cli.common import open_store, settings_or_exit, trusted_keys
from battrace.cli.entity_ids import check_battery_code, require_in_store
from battrace.domain.entities import BATTERY, SHIPMENT
from battrace.settings import Settings


@click.command(name="export")
@click.option("--battery", "battery_id", help="GB/T 34014 code of the battery")
@click.option("--shipment", "shipment_id", help="consignment id (the shipment's own chain)")
@click.option("--report", "report_id", help="consignment id: its chain plus its signed traceability report")
@click.option(
    "--archive",
    "archive_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="an archive directory holding the chain's beginning (repeat for consecutive archives, in any order)",
)
@click.option(
    "--archives-only",
    is_flag=True,
    help="with --archive: ignore the live store; the bundle is as of the last archive's checkpoint",
)
@click.option("--key", "keys", multiple=True, help="pinned verifier key (name+keyid+key) instead of this home's keys")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="bundle file")
def export_cmd(
    battery_id: str | None,
    shipment_id: str | None,
    report_id: str | None,
    archive_dirs: tuple[Path, ...],
    archives_only: bool,
    keys: tuple[str, ...],
    out: Path,
) -> None:
    """Write a self-contained bundle (records, proofs, checkpoints, keys) that verifies offline.

    With --archive the whole chain is exported: the archived records and, when this home has a store (unless
    --archives-only), the live ones after them, as of the live log's newest checkpoint.

    Exits 2 if --battery is not a GB/T 34014 code, 1 if the store holds no record of the battery or consignment.
    """
    if sum(map(bool, (battery_id, shipment_id, report_id))) != 1:
        raise click.UsageError("give exactly one of --battery ID, --shipment ID or --report SHIPMENT_ID")
    from battrace.verify.export import NothingToExport, add_report, build_bundle

    if battery_id:
        check_battery_code(battery_id)
    kind, ident = (BATTERY, battery_id) if battery_id else (SHIPMENT, shipment_id or report_id or "")
    settings = settings_or_exit()
    verifiers = trusted_keys(settings, keys)
    if archives_only and not archive_dirs:
        raise click.UsageError("--archives-only needs --archive DIR")
    if archive_dirs:
        live = not archives_only and _has_store(settings)
        bundle = _from_archives(list(archive_dirs), kind, ident, verifiers, bool(report_id), settings if live else None)
        out.write_text(json.dumps(bundle, indent=1, sort_keys=True) + "\n")
        where = " and the live store" if live else ""
        click.echo(f"wrote {out}: {len(bundle['records'])} records from {len(archive_dirs)} archive(s){where}")
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


def _has_store(settings: Settings) -> bool:
    """Whether this home has a live store to add to the archives: a ClickHouse server, or an embedded store that
    exists (an auditor's home with only archives has none)."""
    from battrace.store.client import embedded_store

    store = embedded_store(settings)
    return store is None or Path(store).is_dir()


def _from_archives(
    directories: list[Path], kind: str, ident: str, verifiers: list, with_report: bool, settings: Settings | None
) -> dict:
    """The bundle built from verified archives, with the live store when ``settings`` are given
    (battrace/verify/archive_bundle.py)."""
    from battrace.verify.archive_bundle import ArchiveNotVerified, bundle_from_archives
    from battrace.verify.archive_files import ArchiveError
    from battrace.verify.export import NothingToExport, add_report

    client = open_store(settings) if settings is not None else None
    try:
        bundle = bundle_from_archives(directories, kind, ident, verifiers, client)
        return add_report(bundle) if with_report else bundle
    except ArchiveError as exc:
        raise click.UsageError(str(exc)) from None
    except (ArchiveNotVerified, NothingToExport) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if client is not None:
            client.close()
