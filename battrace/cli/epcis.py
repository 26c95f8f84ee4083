"""`battrace epcis`: sealed events out as a GS1 EPCIS 2.0 document, partners' EPCIS documents in to be sealed, and
the GS1 event hash of any EPCIS document.

Mistakes a user can fix (a malformed id, an id with no sealed events, no store, a file that is not EPCIS JSON-LD, no
Kafka named or reachable) exit 2 with one line; a store whose bytes no longer match their seals exits 1, naming the
event.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from battrace.cli.common import open_store, settings_or_exit

EXIT_USER = 2
CAPTURE_KEY = b"epcis"  # every captured document on one partition of epcis.capture: events are sealed in sent order


class UserError(click.ClickException):
    """A mistake the user can fix: one line, exit 2."""

    exit_code = EXIT_USER


@click.group(name="epcis", context_settings={"help_option_names": ["-h", "--help"]})
def epcis_group() -> None:
    """GS1 EPCIS 2.0: export sealed events for partners, capture partners' events, compute GS1 event hashes."""


def _subject(battery_id: str | None, lot_id: str | None, shipment_id: str | None) -> tuple[str, str] | None:
    if battery_id:
        from battrace.domain.battery_code import BatteryCodeError, parse

        try:
            parse(battery_id)
        except BatteryCodeError as exc:
            raise UserError(f"invalid battery code {battery_id!r}: {exc.message}") from None
        return "battery", battery_id
    if lot_id:
        return "lot", lot_id
    return ("shipment", shipment_id) if shipment_id else None


def _read_store(subject: tuple[str, str] | None) -> tuple[list[Any], dict[str, str]]:
    from clickhouse_connect.driver.exceptions import Error as ClickHouseError

    from battrace.epcis.sealed_reader import BrokenSeal, NothingSealed, battery_aliases, sealed_events

    settings = settings_or_exit()
    try:
        client = open_store(settings)
    except click.ClickException as exc:
        raise UserError(exc.message) from None
    except ClickHouseError as exc:
        raise UserError(
            f"cannot reach ClickHouse at {settings.clickhouse_shown} ({type(exc).__name__}): start it, "
            "or set BATTRACE_CLICKHOUSE / BATTRACE_HOME to where the data is"
        ) from None
    try:
        events = sealed_events(client, subject)
        return events, battery_aliases(client, events)
    except NothingSealed as exc:
        raise UserError(f"{exc}: check the id (`battrace query` lists what is sealed)") from None
    except BrokenSeal as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        client.close()


@epcis_group.command(name="export")
@click.option("--battery", "battery_id", help="GB/T 34014 code: the events of the battery's chain")
@click.option("--lot", "lot_id", help="material lot id: the events of the lot's chain")
@click.option("--shipment", "shipment_id", help="consignment id: the events of the consignment's chain")
@click.option("--all", "everything", is_flag=True, help="every sealed event of the store")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="EPCIS document")
def export_epcis(
    battery_id: str | None, lot_id: str | None, shipment_id: str | None, everything: bool, out: Path
) -> None:
    """Write sealed events as an EPCIS 2.0 document (JSON-LD), each eventID its GS1 event hash."""
    if sum(map(bool, (battery_id, lot_id, shipment_id, everything))) != 1:
        raise click.UsageError("give exactly one of --battery ID, --lot ID, --shipment ID or --all")
    from battrace.epcis.document import epcis_document
    from battrace.epcis.schema import problems

    events, aliases = _read_store(_subject(battery_id, lot_id, shipment_id))
    document = epcis_document(events, aliases, datetime.now(UTC))
    found = problems(document, limit=1)
    if found:  # a mapping bug: never hand a partner a document its repository would refuse
        raise click.ClickException(f"the export breaks the EPCIS 2.0 JSON schema, nothing written: {found[0]}")
    try:
        out.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror}; choose another --out") from None
    types = Counter(e["type"] for e in document["epcisBody"]["eventList"])
    summary = ", ".join(f"{n} {t}" for t, n in sorted(types.items()))
    click.echo(f"wrote {out}: {sum(types.values())} EPCIS 2.0 events ({summary}), valid against the EPCIS JSON schema")


def _read_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read {file}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{file} is not JSON ({exc}); give an EPCIS 2.0 JSON or JSON-LD document") from None


@epcis_group.command(name="capture")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def capture(file: Path) -> None:
    """Send an EPCIS 2.0 document (JSON or JSON-LD) to epcis.capture on BATTRACE_KAFKA: the worker seals each event
    like a native one, or rejects it with a reason (the rejects table)."""
    from battrace.cli.preflight import require_kafka
    from battrace.epcis.capture_message import messages
    from streams.producer import EventProducer, ProduceError
    from streams.topics import EPCIS_CAPTURE

    document = _read_json(file)
    body = document.get("epcisBody") if isinstance(document, dict) else None
    events = body.get("eventList") if isinstance(body, dict) else None
    if not isinstance(events, list) or not events or document.get("type") != "EPCISDocument":
        raise UserError(f"{file} is not an EPCISDocument with events in epcisBody.eventList; give an EPCIS 2.0 one")
    settings = settings_or_exit()
    if not settings.kafka:
        raise UserError("BATTRACE_KAFKA is empty: set it to the bootstrap servers of the Kafka the worker reads")
    limit = settings.max_event_bytes
    values = list(messages(document, limit))
    too_big = next((v for v in values if len(v) > limit), None)
    if too_big is not None:  # only an event alone can be: the worker would reject it as oversize
        raise UserError(f"{file} holds an event of {len(too_big)} bytes, more than BATTRACE_MAX_EVENT_BYTES={limit}")
    require_kafka(settings.kafka)
    quiet = {"message.timeout.ms": 30_000, "log_level": 0}  # an unreachable broker is one line, below
    producer = EventProducer(settings.kafka, registry_url="", **quiet)
    for value in values:
        producer.send_raw(EPCIS_CAPTURE.name, CAPTURE_KEY, value)  # one key: one partition, sealed in sent order
    try:
        producer.flush(35)
    except ProduceError as exc:
        detail = f"could not send to {EPCIS_CAPTURE.name} at {settings.kafka} ({exc}): check BATTRACE_KAFKA"
        raise UserError(detail) from None
    click.echo(
        f"sent {len(events)} EPCIS events of {file} in {len(values)} messages to {EPCIS_CAPTURE.name}; each is "
        "sealed, or rejected with its reason (battrace.rejects, source_topic 'epcis.capture')"
    )


@epcis_group.command(name="hash")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def hash_cmd(file: Path) -> None:
    """Print the GS1 event hash (ni:///sha-256;...?ver=CBV2.0) of each event of an EPCIS 2.0 JSON(-LD) document."""
    from battrace.epcis.event_hash import EventHashError, event_hashes

    document = _read_json(file)
    try:
        hashes = event_hashes(document)
    except EventHashError as exc:
        raise UserError(f"{file}: {exc}") from None
    for value in hashes:
        click.echo(value)
