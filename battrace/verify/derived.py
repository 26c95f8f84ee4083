"""The rows the worker derives from sealed events, recomputed from the events alone, and compared with the store.

Sealing proves the canonical bytes of every event; everything users read is derived from them. The worker's rows
are a pure function of each entity's sealed events in chain order: each event's ``events`` row and ``genealogy``
edges come from its canonical bytes (battrace/store/event_rows.py), and replaying an entity's events through
battrace/domain/correlate.py from genesis gives its carbon lines, its lifecycle, mass-balance and transit flags, a
consignment's ``transit_events`` and its projection (battrace/domain/projections.py). So a stored row that differs
from the recomputation, a row the recomputation does not produce (forged) and a row it produces but the store lacks
(deleted) are all tampering.

Not compared, because the sealed log does not fix them: the Kafka coordinates of an event's source message
(``events.source_topic``, ``source_partition``, ``source_offset``) and wall-clock times (``sealed.sealed_at``,
which battrace/verify/chains.py does not compare either). Everything else, including event times, is compared.
No I/O here: battrace/verify/derived_store.py reads the rows and reports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from battrace.domain.correlate import Output, apply, new_state
from battrace.domain.entities import entities_of, entity_key, kind_of
from battrace.domain.projections import projection
from battrace.store.event_rows import edges, event_row
from battrace.store.report_rows import report_rows
from battrace.store.tables import COLUMNS
from schemas.codec import CodecError, Decoder
from schemas.envelope import ChainItem, Envelope

UNSEALED_EVENT_COLUMNS = ("source_topic", "source_partition", "source_offset")
EVENT_COLUMNS = tuple(c for c in COLUMNS["events"] if c not in UNSEALED_EVENT_COLUMNS)
PROJECTION_KEYS = {"batteries": "battery_id", "lots": "lot_id", "shipments": "shipment_id"}
PROJECTION_TYPES = {"batteries": "battery", "lots": "lot", "shipments": "shipment"}
KEYS: dict[str, tuple[str, ...]] = {
    "events": ("event_id",),
    "genealogy": ("to_type", "to_id", "from_type", "from_id", "relation", "event_id"),
    "carbon": ("entity_type", "entity_id", "line_id"),
    "flags": ("entity_type", "entity_id", "category", "code", "event_id"),
    "transit_events": ("shipment_id", "kind", "zone_id", "start_time", "event_id"),
    "reports": ("event_id",),
    "report_reviews": ("event_id",),
    **{table: (key,) for table, key in PROJECTION_KEYS.items()},
}
REPORT_TABLES = ("reports", "report_reviews")
TIME_COLUMNS = frozenset(
    {
        "event_time",
        "updated_at",
        "assayed_at",
        "produced_at",
        "drafted_at",
        "delivered_at",
        "reviewed_at",
        "start_time",
        "end_time",
    }
)  # compared as UTC milliseconds


@lru_cache(maxsize=1)
def _decoder() -> Decoder:
    """Built on first use: it reads every shipped contract, which importing this module must not do."""
    return Decoder()


class UndecodableEvent(ValueError):
    """Stored canonical bytes that do not decode onto a shipped contract."""


def envelope_of(canonical: bytes) -> Envelope:
    """The accepted event the canonical bytes encode, as ingest made it (processors/validate.py).

    The source coordinates are not sealed; they are set so that every item of a chain counts as new (a sealed row
    is an item the worker applied, never one it skipped as a redelivery)."""
    try:
        decoded = _decoder().decode(canonical)
    except CodecError as exc:
        raise UndecodableEvent(f"{exc.reason}: {exc.detail}") from None
    record = decoded.record
    return Envelope(
        event_id=record.get("event_id", ""),
        schema=decoded.schema,
        kind=kind_of(record),
        event_time_ms=record["event_time"],
        source=("", 0, 0, 0),
        event_hash=hashlib.sha256(canonical).digest(),
        record=record,
        entities=entities_of(decoded.schema, record),
    )


def event_rows_of(ev: Envelope, canonical: bytes) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """The event's ``events`` row (without its unsealed columns) and its other own rows as (table, row): its
    ``genealogy`` edges, and the ``reports`` or ``report_reviews`` row of a report step."""
    row = event_row(ev, canonical)
    return {c: row[c] for c in EVENT_COLUMNS}, [("genealogy", e) for e in edges(ev)] + report_rows(ev)


@dataclass
class Derived:
    """Expected rows per table, keyed by the table's key (``KEYS``)."""

    rows: dict[str, dict[tuple, dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: str, row: Mapping[str, Any]) -> None:
        self.rows.setdefault(table, {})[tuple(row[k] for k in KEYS[table])] = dict(row)

    def of(self, table: str) -> dict[tuple, dict[str, Any]]:
        return self.rows.get(table, {})


def applied_chain(
    state: dict[str, Any],
    entity: str,
    chain: Sequence[Envelope],
    logged: Sequence[tuple[str, int, int]] | None = None,
) -> Iterator[Output]:
    """Apply an entity's events to its ``state`` (new_state: from genesis) in chain order, yielding each step's
    output. ``logged``: each event's (log_id, log_index, sealed_at ms) as sealed, for sealed rows equal to the stored
    ones; without it they are left blank (nothing derived but the sealed row depends on them)."""
    for seq, ev in enumerate(chain, start=1):
        log_id, log_index, sealed_at = logged[seq - 1] if logged is not None else ("", seq, 0)
        yield apply(state, ChainItem(entity, ("", 0, seq), ev), log_id, log_index, sealed_at)


def replay(entity: str, chain: Sequence[Envelope], into: Derived) -> None:
    """Apply an entity's events from genesis in chain order: its carbon lines, stream flags and projection."""
    state = new_state(entity)
    for out in applied_chain(state, entity, chain):
        for line in out.carbon:
            into.add("carbon", line)
        for flag in out.flags:
            into.add("flags", flag)
        for row in out.transit:
            into.add("transit_events", row)
    projected = projection(state)
    if projected is not None:
        into.add(*projected)


@dataclass(frozen=True)
class Difference:
    entity: str
    seq: int | None
    problem: str


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def compare(
    table: str,
    expected: Mapping[tuple, Mapping[str, Any]],
    stored: Iterable[Mapping[str, Any]],
    entities_of_row: Callable[[Mapping[str, Any]], Iterable[str]],
    keys: Sequence[str] | None = None,
) -> list[Difference]:
    """Differences between the stored rows (every version the store holds of a key) and the expected ones.

    A stored row whose key is not expected is forged; an expected key with no stored row was deleted; a stored
    row that differs names each differing column with both values. ``entities_of_row`` says whose rows they are;
    ``keys`` are the key columns (default: the table's, ``KEYS``).
    """
    key_columns = tuple(keys or KEYS[table])
    out: list[Difference] = []
    seen: set[tuple] = set()
    for row in stored:
        key = tuple(row[k] for k in key_columns)
        seen.add(key)
        want = expected.get(key)
        if want is None:
            for entity in entities_of_row(row):
                out.append(Difference(entity, row.get("seq"), f"{table} row {key} is not derived from sealed events"))
            continue
        for column in want:
            if column in key_columns or row.get(column) == want[column]:
                continue
            problem = (
                f"{table} row {key}: {column} is {_shown(row.get(column))}, sealed events give {_shown(want[column])}"
            )
            out.extend(Difference(entity, want.get("seq"), problem) for entity in entities_of_row(want))
    for key, want in expected.items():
        if key not in seen:
            problem = f"{table} row {key} is derived from sealed events but missing from the store"
            out.extend(Difference(entity, want.get("seq"), problem) for entity in entities_of_row(want))
    return out


def row_entity(row: Mapping[str, Any]) -> list[str]:
    """A carbon line's or flag's entity."""
    return [entity_key(row["entity_type"], row["entity_id"])]


def shipment_entity(row: Mapping[str, Any]) -> list[str]:
    """A transit row's consignment."""
    return [entity_key("shipment", row["shipment_id"])]


def projection_entity(table: str) -> Callable[[Mapping[str, Any]], list[str]]:
    return lambda row: [entity_key(PROJECTION_TYPES[table], row[PROJECTION_KEYS[table]])]


def stored_event_hash_ok(canonical: bytes, event_hash: str) -> bool:
    return hashlib.sha256(canonical).hexdigest() == event_hash
