"""`battrace report SHIPMENT_ID [--out FILE]`: the signed traceability report of a delivered consignment."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table


@click.command(name="report")
@click.argument("shipment_id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="write the signed document here")
@click.option("--json", "as_json", is_flag=True, help="print one JSON line: shipment, hash, verified, missing, files")
def report(shipment_id: str, out: Path | None, as_json: bool) -> None:
    """Fetch the consignment's report with its co-signatures, check it against this home's pinned role keys, write
    it and a QR code of its URL; exit 0 only if it is certified (every role signed with a pinned key, no refusal).

    The QR code (FILE with .png) links to `BATTRACE_PUBLIC_URL/reports/SHIPMENT_ID`, served by `battrace serve`.
    Exits 1 with one line if the store holds no record of the consignment, or no report for it yet.
    """
    from battrace.cli.common import call, keyring, open_store, settings_or_exit
    from battrace.cli.entity_ids import require_in_store
    from battrace.domain.entities import SHIPMENT
    from battrace.report.canonical import canonical_json
    from battrace.report.qr import write_qr
    from battrace.report.reviews import Review, certify
    from battrace.report.signing import load_signed
    from battrace.store.reports import current_report

    settings = settings_or_exit()
    role_keys = call(keyring(settings).report_verifiers)  # a report key open to others: one line, before any work
    client = open_store(settings)
    try:
        require_in_store(client, SHIPMENT, shipment_id)
        stored = current_report(client, shipment_id)
    finally:
        client.close()
    if stored is None:
        raise click.ClickException(
            f"no report for consignment {shipment_id!r}: a report is drafted when its Delivered event is sealed "
            '(list them with: battrace query "SELECT DISTINCT shipment_id FROM battrace.reports")'
        )
    certification = certify(load_signed(stored.document), [Review.from_row(r) for r in stored.reviews], role_keys)
    out = out or Path(f"{shipment_id}.report.json")
    out.write_bytes(canonical_json(certification.document))
    qr_path = out.with_suffix(".png")
    url = write_qr(qr_path, settings.public_url, shipment_id)
    summary = {
        "shipment_id": shipment_id,
        "report_hash": stored.report_hash,
        **certification.to_json(),
        "missing_fields": stored.missing_fields,
        "document": str(out),
        "qr": str(qr_path),
        "url": url,
    }
    if as_json:
        click.echo(json.dumps(summary, separators=(",", ":")))
    else:
        table = Table(title=f"traceability report {shipment_id}", show_header=False)
        for key, value in summary.items():
            table.add_row(key, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
        Console().print(table)
    sys.exit(0 if certification.certified else 1)
