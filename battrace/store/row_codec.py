"""Rows in ClickHouse's MsgPack input format: the form in which every row reaches the sink.

A row is its values in column order, one after another (no row header), so rows encoded anywhere, at any time, join
into one insert. Encoding a row costs about a third of converting it to Arrow columns, and it happens on the seal
stage's thread, where every microsecond of GIL time counts. An event's own rows (its events row and genealogy edges)
depend on the event alone, not on chain state, so the ingest process encodes them (battrace/store/event_rows.py) and the
seal stage passes them on unread.

ClickHouse reads each MsgPack value by its column's type. Three cases are ours to guard: an integer for a Float64 is
refused (float columns are coerced, inside arrays too), nil for a String that is not Nullable would go in as '' and a
missing key would shift every later value (both are refused here, naming the column). Hashes travel in rows as hex
(what the chain state and log entries hold) and are stored as their 32 bytes: a FixedString(32) column takes hex and
gets bytes.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import msgspec

from battrace.store.tables import COLUMNS, MissingValues

_encoder = msgspec.msgpack.Encoder()
_FLOAT, _FLOATS, _HASH = ("Float64", "Nullable(Float64)"), "Array(Float64)", "FixedString(32)"


class RowFormat:
    """One table's rows as MsgPack values. ``floats``: its Float64 columns; ``float_arrays``: its Array(Float64)
    columns; ``nullable``: its Nullable columns (a missing value is NULL there, and refused elsewhere); ``hashes``: its
    FixedString(32) columns (hex in, bytes stored)."""

    def __init__(
        self,
        table: str,
        floats: frozenset[str] = frozenset(),
        nullable: frozenset[str] = frozenset(),
        float_arrays: frozenset[str] = frozenset(),
        hashes: frozenset[str] = frozenset(),
    ) -> None:
        columns = COLUMNS[table]
        unknown = sorted((floats | nullable | float_arrays | hashes) - set(columns))
        if unknown:
            raise ValueError(f"{table} has no columns {unknown}")
        self.table, self.columns = table, columns
        self.floats, self.nullable, self.float_arrays = floats, nullable, float_arrays
        self._values = operator.itemgetter(*columns)
        self._float_at = [i for i, c in enumerate(columns) if c in floats]
        self._floats_at = [i for i, c in enumerate(columns) if c in float_arrays]
        self._hashes_at = [i for i, c in enumerate(columns) if c in hashes]
        self._header = len(_encoder.encode([None] * len(columns))) - len(columns)  # the array header: 1 or 3 bytes

    @classmethod
    def of_types(cls, table: str, types: Mapping[str, str]) -> RowFormat:
        """The format of a table whose ClickHouse column types (by column) are ``types``."""
        return cls(
            table,
            floats=frozenset(c for c in COLUMNS[table] if types[c] in _FLOAT),
            nullable=frozenset(c for c in COLUMNS[table] if types[c].startswith("Nullable(")),
            float_arrays=frozenset(c for c in COLUMNS[table] if types[c] == _FLOATS),
            hashes=frozenset(c for c in COLUMNS[table] if types[c] == _HASH),
        )

    def encode(self, row: Mapping[str, Any]) -> bytes:
        try:
            values = list(self._values(row))
        except KeyError:
            values = [row.get(c) for c in self.columns]  # refused below unless the column is Nullable
        for i in self._float_at:
            if values[i] is not None:
                values[i] = float(values[i])
        for i in self._floats_at:
            if values[i] is not None:
                values[i] = [float(v) for v in values[i]]
        for i in self._hashes_at:
            if values[i] is not None:
                values[i] = _hash_bytes(self.table, self.columns[i], values[i])
        if None in values:
            for column, value in zip(self.columns, values, strict=True):
                if value is None and column not in self.nullable:
                    raise MissingValues(f"{self.table}.{column}: the row has no value")
        return _encoder.encode(values)[self._header :]


def _hash_bytes(table: str, column: str, value: str | bytes) -> bytes:
    """A digest's 32 bytes from hex (or bytes); anything else is refused: ClickHouse would pad a short value with
    zero bytes, storing a hash that was never computed."""
    try:
        digest = bytes.fromhex(value) if isinstance(value, str) else bytes(value)
    except (ValueError, TypeError):
        digest = b""
    if len(digest) != 32:
        raise ValueError(f"{table}.{column}: {value!r} is not a 32-byte hex digest")
    return digest


EVENTS = RowFormat("events", floats=frozenset({"lat", "lon"}), nullable=frozenset({"lat", "lon"}))
GENEALOGY = RowFormat("genealogy", floats=frozenset({"mass_kg"}), nullable=frozenset({"mass_kg"}))
STATIC = {f.table: f for f in (EVENTS, GENEALOGY)}  # formats known without ClickHouse (the ingest process's)
