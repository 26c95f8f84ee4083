"""An EPCIS 2.0 document (JSON-LD) of sealed events, each event identified by its GS1 event hash.

The ``eventID`` of an exported event is the GS1 hash of the event itself (battrace/epcis/event_hash.py), which
EPCIS leaves out of the hash: a partner can recompute it from the event, and two exports of the same sealed event
give it the same id. The battrace event id, and the seal, are in the event's ``battrace:sealed`` extension.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from battrace.epcis.event_hash import event_hashes
from battrace.epcis.events import NAMESPACE, PREFIX, epcis_event
from battrace.epcis.sealed_event import SealedEvent

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
SCHEMA_VERSION = "2.0"


def epcis_document(events: Iterable[SealedEvent], aliases: Mapping[str, str], created: datetime) -> dict[str, Any]:
    """The EPCISDocument of ``events`` in the given order; ``created``: its creationDate (timezone-aware)."""
    document: dict[str, Any] = {
        "@context": [EPCIS_CONTEXT, {PREFIX: NAMESPACE}],
        "type": "EPCISDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": created.isoformat(timespec="milliseconds"),
        "epcisBody": {"eventList": [epcis_event(e, aliases) for e in events]},
    }
    body = document["epcisBody"]
    body["eventList"] = [
        {"type": e["type"], "eventID": h, **e} for e, h in zip(body["eventList"], event_hashes(document), strict=True)
    ]
    return document
