"""Read the sealed chains and the derived rows from ClickHouse and compare them (battrace/verify/derived.py says how).

Rows the worker writes once per content (events, genealogy, carbon, stream flags, transit events) are read without
FINAL, so a forged replacing row is seen next to the row it would replace; projections are read with FINAL, because a
store legitimately holds older versions until ReplacingMergeTree merges them, and every reader asks for the newest.

For one battery: its events (decoded columns and genealogy edges), its projection, its carbon lines (its own
chain's and the refining lines that the chains of the lots it consumed allocate to it) and its stream flags.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.domain.entities import BATTERY, LOT, SHIPMENT, entity_key
from battrace.store.tables import COLUMNS
from battrace.verify.derived import (
    EVENT_COLUMNS,
    PROJECTION_KEYS,
    REPORT_TABLES,
    TIME_COLUMNS,
    Derived,
    Difference,
    UndecodableEvent,
    compare,
    envelope_of,
    event_rows_of,
    projection_entity,
    replay,
    row_entity,
    shipment_entity,
    stored_event_hash_ok,
)
from schemas.envelope import Envelope

Chains = dict[str, list[tuple[int, str, str]]]  # entity key -> (seq, event_id, event_hash) in seq order


def select(table: str, columns: Sequence[str], final: bool, where: str = "") -> str:
    """SQL reading ``columns`` of ``table``, times as UTC milliseconds (how the worker's rows hold them)."""
    shown = ", ".join(f"toUnixTimestamp64Milli({c}) AS {c}" if c in TIME_COLUMNS else c for c in columns)
    return f"SELECT {shown} FROM battrace.{table}{' FINAL' if final else ''} {where}"


def _rows(client: Client, sql: str, **params: Any) -> list[dict[str, Any]]:
    return list(client.query(sql, parameters=params, column_formats={"canonical": "bytes"}).named_results())


def _chains(client: Client, where: str, **params: Any) -> Chains:
    chains: Chains = defaultdict(list)
    found = client.query(
        "SELECT entity_type, entity_id, seq, event_id, event_hash FROM battrace.sealed FINAL "
        f"{where} ORDER BY entity_type, entity_id, seq",
        parameters=params,
    ).result_rows
    for entity_type, entity_id, seq, event_id, event_hash in found:
        chains[entity_key(entity_type, entity_id)].append((seq, event_id, event_hash))
    return chains


def _events(client: Client, event_ids: Sequence[str] | None) -> list[dict[str, Any]]:
    where = "" if event_ids is None else "WHERE event_id IN {ids:Array(String)}"
    return _rows(client, select("events", EVENT_COLUMNS, final=False, where=where), ids=list(event_ids or ()))


class Recomputed:
    """The expected rows of the given chains, from the stored bytes that hash to each sealed event hash."""

    def __init__(self, chains: Chains, stored_events: Sequence[Mapping[str, Any]]) -> None:
        self.expected = Derived()
        self.differences: list[Difference] = []
        self.envelopes: dict[str, Envelope] = {}
        self.entities: dict[str, list[str]] = {}  # event id -> the entities its recomputed row names
        hashes = {event_id: event_hash for chain in chains.values() for _, event_id, event_hash in chain}
        for row in stored_events:
            event_id = row["event_id"]
            if event_id in self.envelopes or hashes.get(event_id) is None:
                continue
            if not stored_event_hash_ok(row["canonical"], hashes[event_id]):
                continue  # chains.py names it; another stored version may still hold the sealed bytes
            try:
                ev = envelope_of(row["canonical"])
            except UndecodableEvent as exc:
                self.differences.append(Difference(f"event:{event_id}", None, f"sealed bytes do not decode: {exc}"))
                continue
            self.envelopes[event_id] = ev
            self.entities[event_id] = list(ev.entities)
            event, own_rows = event_rows_of(ev, row["canonical"])
            self.expected.add("events", event)
            for table, own in own_rows:
                self.expected.add(table, own)
        for entity, chain in chains.items():
            lacking = next((event_id for _, event_id, _ in chain if event_id not in self.envelopes), None)
            if lacking is not None:
                problem = f"derived rows not recomputed: no stored bytes of event {lacking} hash to its sealed hash"
                self.differences.append(Difference(entity, None, problem))
                continue
            replay(entity, [self.envelopes[event_id] for _, event_id, _ in chain], self.expected)

    def of_event(self, row: Mapping[str, Any]) -> list[str]:
        """The entities of the event a row belongs to (as recomputed; as stored for an event not sealed)."""
        if row["event_id"] in self.entities:
            return self.entities[row["event_id"]]
        if row.get("entities"):
            return list(row["entities"])
        if row.get("shipment_id"):  # a report row names its consignment
            return [entity_key(SHIPMENT, row["shipment_id"])]
        return [f"event:{row['event_id']}"]


def check_all(client: Client) -> list[Difference]:
    """Every derived row of the worker against its recomputation from every sealed chain."""
    chains = _chains(client, "")
    done = Recomputed(chains, _events(client, None))
    out = list(done.differences)
    out += compare("events", done.expected.of("events"), _events(client, None), done.of_event)
    genealogy = _rows(client, select("genealogy", COLUMNS["genealogy"], final=False))
    out += compare("genealogy", done.expected.of("genealogy"), genealogy, done.of_event)
    for table in REPORT_TABLES:
        stored_reports = _rows(client, select(table, COLUMNS[table], final=False))
        out += compare(table, done.expected.of(table), stored_reports, done.of_event)
    carbon = _rows(client, select("carbon", COLUMNS["carbon"], final=False))
    out += compare("carbon", done.expected.of("carbon"), carbon, row_entity)
    stream_flags = "WHERE category NOT IN {audit:Array(String)}"
    flags = _rows(client, select("flags", COLUMNS["flags"], final=False, where=stream_flags), audit=_audit_categories())
    out += compare("flags", done.expected.of("flags"), flags, row_entity)
    transit = _rows(client, select("transit_events", COLUMNS["transit_events"], final=False))
    out += compare("transit_events", done.expected.of("transit_events"), transit, shipment_entity)
    for table in PROJECTION_KEYS:
        stored = _rows(client, select(table, COLUMNS[table], final=True))
        out += compare(table, done.expected.of(table), stored, projection_entity(table))
    return out


def check_battery(client: Client, battery_id: str) -> list[Difference]:
    """The rows shown for one battery (what its passport reads) against their recomputation."""
    me = entity_key(BATTERY, battery_id)
    own = _chains(client, "WHERE entity_type = {t:String} AND entity_id = {i:String}", t=BATTERY, i=battery_id)
    own_ids = [event_id for _, event_id, _ in own.get(me, ())]
    named = "WHERE event_id IN {ids:Array(String)} OR has(entities, {e:String})"
    mine = _rows(client, select("events", EVENT_COLUMNS, final=False, where=named), ids=own_ids, e=me)
    consumed = Recomputed(own, mine).envelopes.values()
    lots = sorted({lot for ev in consumed for lot in ev.entities if lot.startswith(f"{LOT}:")})
    lot_chains = _chains(
        client,
        "WHERE entity_type = {t:String} AND entity_id IN {ids:Array(String)}",
        t=LOT,
        ids=[lot.partition(":")[2] for lot in lots],
    )
    lot_ids = sorted({event_id for chain in lot_chains.values() for _, event_id, _ in chain} - set(own_ids))
    done = Recomputed({**own, **lot_chains}, [*mine, *_events(client, lot_ids)])
    expected_events = {k: r for k, r in done.expected.of("events").items() if k[0] in set(own_ids)}
    out = list(done.differences)
    out += compare("events", expected_events, mine, done.of_event)
    edges_where = "WHERE event_id IN {ids:Array(String)}"
    edges = _rows(client, select("genealogy", COLUMNS["genealogy"], final=False, where=edges_where), ids=own_ids)
    expected_edges = {k: r for k, r in done.expected.of("genealogy").items() if r["event_id"] in set(own_ids)}
    out += compare("genealogy", expected_edges, edges, done.of_event)
    of_me = "WHERE entity_type = {t:String} AND entity_id = {i:String}"
    carbon = _rows(client, select("carbon", COLUMNS["carbon"], final=False, where=of_me), t=BATTERY, i=battery_id)
    out += compare("carbon", _of_entity(done.expected.of("carbon"), me), carbon, row_entity)
    flags = _rows(
        client,
        select("flags", COLUMNS["flags"], final=False, where=of_me + " AND category NOT IN {audit:Array(String)}"),
        t=BATTERY,
        i=battery_id,
        audit=_audit_categories(),
    )
    out += compare("flags", _of_entity(done.expected.of("flags"), me), flags, row_entity)
    by_id = "WHERE battery_id = {i:String}"
    projected = _rows(client, select("batteries", COLUMNS["batteries"], final=True, where=by_id), i=battery_id)
    expected_projection = {k: r for k, r in done.expected.of("batteries").items() if k == (battery_id,)}
    out += compare("batteries", expected_projection, projected, projection_entity("batteries"))
    return [d for d in out if d.entity == me]


def _of_entity(expected: Mapping[tuple, Mapping[str, Any]], entity: str) -> dict[tuple, Mapping[str, Any]]:
    """Expected carbon lines or flags of one entity (keys start with its type and id)."""
    entity_type, _, entity_id = entity.partition(":")
    return {k: r for k, r in expected.items() if k[:2] == (entity_type, entity_id)}


def _audit_categories() -> list[str]:
    from battrace.compliance.audit import CATEGORIES

    return list(CATEGORIES)
