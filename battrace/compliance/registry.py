"""The licence register as it evolved: every LicensedEntity record per party, in event-time order.

``check_custody`` needs each party's licence *history*, not the compacted topic's latest record: a step
taken before a renewal is covered by the licence it was taken under, and a revocation counts from the
record that published it. The records are the decoded Avro payloads of the ``events`` table.
"""

from __future__ import annotations

import json
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.compliance.tables import distinct_events, rows
from battrace.domain.entities import PARTY
from schemas.catalog import LICENSED_ENTITY

Registry = dict[str, list[dict[str, Any]]]
RECORD_FIELDS = ("entity_id", "role", "licence_number", "valid_from", "valid_to", "revoked", "event_time", "region")


def load_registry(client: Client, as_of_ms: int | None = None) -> Registry:
    """party id -> its registry records (every version, oldest first); ``as_of_ms`` drops later publications."""
    # A LicensedEntity record extends exactly one chain, its party's; party chains hold nothing else.
    found = rows(
        client,
        "SELECT event_id, payload FROM battrace.event_store WHERE event_id IN "
        "(SELECT event_id FROM battrace.sealed WHERE entity_type = {party:String}) AND schema = {schema:String} "
        "AND toUnixTimestamp64Milli(event_time) <= {until:Int64} ORDER BY event_time, event_id",
        party=PARTY,
        schema=LICENSED_ENTITY,
        until=as_of_ms if as_of_ms is not None else 2**62,
    )
    registry: Registry = {}
    for r in distinct_events(found):
        record = json.loads(r["payload"])
        registry.setdefault(record["entity_id"], []).append({f: record.get(f) for f in RECORD_FIELDS})
    return registry


def licence_of(registry: Registry, party_id: str, at_ms: int) -> str | None:
    """The licence number a party held at ``at_ms``: that of its latest record valid from then or before
    (covering or lapsed), else of its first record; None when the party is not on the register."""
    records = registry.get(party_id) or []
    started = [r for r in records if r["valid_from"] <= at_ms]
    chosen = max(started, key=lambda r: (r["valid_from"], r["event_time"])) if started else None
    return (chosen or records[0])["licence_number"] if records else None
