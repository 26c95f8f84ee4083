"""The sealed events an EPCIS export holds, read from ClickHouse and decoded from their canonical bytes.

An export shows what is sealed, not what derived rows say: each event is decoded from the canonical bytes that hash
to the ``event_hash`` of its ``sealed`` rows (the bytes the log commits to), so an edited ``events`` row cannot slip
into a partner's document; bytes that no longer match their seal stop the export, naming the event. A battery's GS1
alias comes the same way, from its sealed ``Commissioned`` event.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.domain.entities import battery_ids, body_of, entity_key, kind_of
from battrace.epcis.chain_order import chain_order
from battrace.epcis.sealed_event import Seal, SealedEvent
from schemas.codec import CodecError, Decoder

SUBJECTS = ("battery", "lot", "shipment")  # the entity types an export can be asked for by id


class NothingSealed(LookupError):
    """No sealed event for the requested entity."""


class BrokenSeal(ValueError):
    """Stored canonical bytes that do not hash to their seal, or do not decode: the store was tampered with."""


_SEALS = (
    "SELECT event_id, entity_type, entity_id, seq, event_hash, chain_hash, log_id, log_index "
    "FROM battrace.sealed FINAL {where} ORDER BY entity_type, entity_id, seq"
)
_EVENTS = "SELECT event_id, canonical FROM battrace.events FINAL {where}"
_ALIASES = (
    "SELECT e.event_id, e.canonical, s.event_hash FROM "
    "(SELECT event_id, canonical FROM battrace.events FINAL "
    " WHERE kind = 'Commissioned' AND hasAny(battery_ids, {ids:Array(String)})) AS e "
    "INNER JOIN (SELECT DISTINCT event_id, event_hash FROM battrace.sealed FINAL) AS s ON s.event_id = e.event_id"
)


def _decode(decoder: Decoder, event_id: str, canonical: bytes, event_hash: str) -> tuple[str, dict[str, Any]]:
    if hashlib.sha256(canonical).hexdigest() != event_hash:
        raise BrokenSeal(f"event {event_id}: its stored bytes do not hash to its seal; run `battrace verify --all`")
    try:
        decoded = decoder.decode(canonical)
    except CodecError as exc:
        raise BrokenSeal(f"event {event_id}: its sealed bytes do not decode ({exc.reason})") from None
    return decoded.schema, decoded.record


def sealed_events(client: Client, subject: tuple[str, str] | None) -> list[SealedEvent]:
    """Every sealed event of ``subject`` ((entity type, id)) in its chain order, or of the whole store (``None``) in
    an order that keeps every chain's (battrace/epcis/chain_order.py); each with all its seals, in every chain."""
    if subject is None:
        where, params = "", {}
    else:
        where = (
            "WHERE event_id IN (SELECT event_id FROM battrace.sealed FINAL "
            "WHERE entity_type = {t:String} AND entity_id = {i:String})"
        )
        params = {"t": subject[0], "i": subject[1]}
    seals: dict[str, list[Seal]] = defaultdict(list)
    hashes: dict[str, str] = {}
    for event_id, etype, eid, seq, event_hash, chain_hash, log_id, log_index in client.query(
        _SEALS.format(where=where), parameters=params
    ).result_rows:
        seals[event_id].append(Seal(entity_key(etype, eid), seq, chain_hash, log_id, log_index))
        hashes[event_id] = event_hash
    if not seals:
        what = "the store" if subject is None else f"{subject[0]} {subject[1]}"
        raise NothingSealed(f"no sealed events for {what}")
    rows = client.query(_EVENTS.format(where=where), parameters=params, column_formats={"canonical": "bytes"})
    canonical = dict(rows.result_rows)
    decoder = Decoder()
    events = []
    for event_id, event_seals in seals.items():
        if event_id not in canonical:
            raise BrokenSeal(f"event {event_id} is sealed but its events row is missing; run `battrace verify --all`")
        schema, record = _decode(decoder, event_id, canonical[event_id], hashes[event_id])
        events.append(SealedEvent(schema, kind_of(record), record, hashes[event_id], tuple(event_seals)))
    if subject is None:
        events = chain_order(events)
    else:
        key = entity_key(*subject)
        events.sort(key=lambda e: next(s.seq for s in e.seals if s.entity == key))
    return events


def battery_aliases(client: Client, events: list[SealedEvent]) -> dict[str, str]:
    """GB/T 34014 code -> SGTIN Digital Link of every battery the events name that was commissioned with one."""
    named = sorted({code for e in events for code in battery_ids(e.schema, e.record)})
    if not named:
        return {}
    decoder = Decoder()
    aliases: dict[str, str] = {}
    rows = client.query(_ALIASES, parameters={"ids": named}, column_formats={"canonical": "bytes"}).result_rows
    for event_id, canonical, event_hash in rows:
        _, record = _decode(decoder, event_id, canonical, event_hash)
        body = body_of(record)
        if body.get("sgtin"):
            aliases[body["battery_id"]] = body["sgtin"]
    return aliases
