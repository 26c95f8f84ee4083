"""Read an evicted entity's state back from ClickHouse when an event touches it again.

The seal stage replaces a finished entity's state by a tombstone (battrace/domain/finished.py) only once the
entity's rows are stored, so the store holds every sealed event of its chain up to the tombstone's seq. Replaying
them from genesis through the same correlation step the worker runs (battrace/verify/derived.py, which
``verify --all`` uses too) gives back the full state; the applied source offsets come from the events' stored source
coordinates. The result must end at the tombstone's seq and head with its offsets, else the store and the table
disagree and sealing stops (a chain extended from a wrong state could never be repaired).

Rows are read from the ``battrace.sealed`` view and the ``battrace.event_store`` table (one row per key taken with
LIMIT BY: the events view's FINAL would merge the whole table for a lookup by id), on a client of its own, opened on
the first tombstone: reads are rare and synchronous.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.domain.correlate import new_state
from battrace.domain.entities import split_key
from battrace.domain.finished import applied_offsets, check_rebuilt
from battrace.settings import Settings
from battrace.store.client import connect
from battrace.verify.derived import applied_chain, envelope_of

SEALED_ROWS = (
    "SELECT seq, event_id, log_id, log_index, toUnixTimestamp64Milli(sealed_at) FROM battrace.sealed "
    "WHERE entity_type = {t:String} AND entity_id = {i:String} AND seq <= {n:UInt64} ORDER BY seq LIMIT 1 BY seq"
)
EVENT_ROWS = (
    "SELECT event_id, canonical, source_topic, source_partition, source_offset FROM battrace.event_store "
    "WHERE event_id IN {ids:Array(String)} LIMIT 1 BY event_id"
)


@dataclass(frozen=True)
class SealedEvent:
    """One item of an evicted entity's chain as the store holds it."""

    seq: int
    canonical: bytes
    log_id: str
    log_index: int
    sealed_at_ms: int
    source: tuple[str, int, int]  # the source message it was accepted from


def rebuild(entity: str, stone: dict[str, Any], chain: Sequence[SealedEvent]) -> dict[str, Any]:
    """The full state of an evicted entity from its sealed events in seq order, checked against its tombstone
    (battrace.domain.finished.EvictedStateMismatch when it does not end there)."""
    envelopes = [envelope_of(e.canonical) for e in chain]
    logged = [(e.log_id, e.log_index, e.sealed_at_ms) for e in chain]
    state = new_state(entity)
    for _ in applied_chain(state, entity, envelopes, logged):
        pass  # the rows are stored already: only the state is wanted
    state["applied"] = applied_offsets([e.source for e in chain])
    if [e.seq for e in chain] != list(range(1, len(chain) + 1)):
        state["seq"] = -1  # a gap in the stored chain
    check_rebuilt(entity, state, stone)
    return state


class EvictedStates:
    """Rebuilds evicted states from the store of ``settings``; the client is opened on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Client | None = None

    def _query(self, statement: str, parameters: dict[str, Any]) -> list[Sequence[Any]]:
        if self._client is None:
            self._client = connect(self._settings)
        return self._client.query(statement, parameters=parameters, column_formats={"canonical": "bytes"}).result_rows

    def chain(self, entity: str, seq: int) -> list[SealedEvent]:
        """The entity's sealed events up to ``seq`` (rows of a later seq belong to a group stored after the
        tombstone but before its states: they are sealed again, identically)."""
        entity_type, entity_id = split_key(entity)
        sealed = self._query(SEALED_ROWS, {"t": entity_type, "i": entity_id, "n": seq})
        ids = sorted({row[1] for row in sealed})
        events = {row[0]: row for row in self._query(EVENT_ROWS, {"ids": ids})} if ids else {}
        chain = []
        for seq_, event_id, log_id, log_index, sealed_at in sealed:
            event = events.get(event_id)
            if event is None:
                continue  # its seq is missing from the rebuilt chain, which rebuild() reports
            canonical = bytes(event[1])
            source = (event[2], int(event[3]), int(event[4]))
            chain.append(SealedEvent(int(seq_), canonical, log_id, int(log_index), int(sealed_at), source))
        return chain

    def read_back(self, entity: str, stone: dict[str, Any]) -> dict[str, Any]:
        return rebuild(entity, stone, self.chain(entity, stone["seq"]))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
