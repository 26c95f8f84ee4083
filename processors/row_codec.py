"""Rows encoded in ClickHouse's MsgPack input format by a process that has no ClickHouse at hand.

An event's events row and genealogy edges depend on the event alone, not on any chain state, so the ingest process
encodes them once and ships them in the pack (processors/envelope.py); the seal stage passes on those of the events
it applies, unread, and the sink inserts them as they are. On the seal stage's thread, building those rows as dicts
and converting them to Arrow was about a fifth of its work. In MsgPack input a row is its values in column order,
one after another (no row header), so the encoded rows of many events join into one insert.

ClickHouse reads each MsgPack value by its column's type. Two cases are ours to guard: an integer for a Float64 column
is refused (float columns are coerced), and nil for a String that is not Nullable goes in as '' (it is refused here).
"""

from __future__ import annotations

import operator
from typing import Any

import msgspec

from processors.tables import COLUMNS, MissingValues

_encoder = msgspec.msgpack.Encoder()


class RowFormat:
    """One table's rows as MsgPack values; ``floats`` and ``nullable`` name its Float64 and Nullable columns."""

    def __init__(self, table: str, floats: frozenset[str] = frozenset(), nullable: frozenset[str] = frozenset()):
        columns = COLUMNS[table]
        unknown = sorted((floats | nullable) - set(columns))
        if unknown:
            raise ValueError(f"{table} has no columns {unknown}")
        self.table, self.columns = table, columns
        self.floats, self.nullable = floats, nullable
        self._values = operator.itemgetter(*columns)
        self._float_at = [i for i, c in enumerate(columns) if c in floats]
        self._header = len(_encoder.encode([None] * len(columns))) - len(columns)  # the array header: 1 or 3 bytes

    def encode(self, row: dict[str, Any]) -> bytes:
        try:
            values = list(self._values(row))
        except KeyError as missing:
            raise MissingValues(f"{self.table}.{missing.args[0]}: the row has no value") from None
        for i in self._float_at:
            if values[i] is not None:
                values[i] = float(values[i])
        if None in values:
            for column, value in zip(self.columns, values, strict=True):
                if value is None and column not in self.nullable:
                    raise MissingValues(f"{self.table}.{column}: the row has no value")
        return _encoder.encode(values)[self._header :]


EVENTS = RowFormat("events", floats=frozenset({"lat", "lon"}), nullable=frozenset({"lat", "lon"}))
GENEALOGY = RowFormat("genealogy", floats=frozenset({"mass_kg"}), nullable=frozenset({"mass_kg"}))
FORMATS = {f.table: f for f in (EVENTS, GENEALOGY)}
