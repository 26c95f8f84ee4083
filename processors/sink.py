"""The ClickHouse sink: column-oriented batch inserts, idempotent under replay.

Rows are keyed (ReplacingMergeTree) so a replayed batch replaces instead of duplicating, and each
insert carries a deduplication token derived from its content, so an identical re-sent block is a no-op.

Blocks go in as Arrow streams: pyarrow converts a column of Python values in C++, where clickhouse-connect's
Native writer spent about 30 µs of Python per sealed event (GIL time the seal stage's compute waits for). Rows
that arrive encoded (an event's own rows, encoded by the ingest process: processors/row_codec.py) go in as
MsgPack, as they came.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Protocol

import pyarrow as pa
from clickhouse_connect.driver.client import Client

from processors.tables import COLUMNS, INSERT_ORDER, MissingValues


class SinkBatch:
    """Rows gathered while processing one batch of Kafka messages: as dicts, or encoded where they were made
    (MsgPack rows, processors/row_codec.py)."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.encoded: dict[str, list[bytes]] = defaultdict(list)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows[table].append(row)

    def add_encoded(self, table: str, row: bytes) -> None:
        self.encoded[table].append(row)

    def __len__(self) -> int:
        return sum(len(v) for v in self.rows.values()) + sum(len(v) for v in self.encoded.values())


_SCALARS: dict[str, pa.DataType] = {
    "String": pa.binary(),  # str (UTF-8) and bytes alike; ClickHouse Strings are bytes
    "UInt32": pa.uint32(),
    "UInt64": pa.uint64(),
    "Float64": pa.float64(),
    "Bool": pa.bool_(),
    "DateTime64(3, 'UTC')": pa.timestamp("ms", tz="UTC"),  # epoch milliseconds go in as raw ticks
}
_WRAPPED = re.compile(r"(LowCardinality|Nullable|Array)\((.*)\)")


class UnsupportedColumn(TypeError):
    """A ClickHouse column type the sink has no Arrow type for (add it to _SCALARS)."""


def arrow_type(clickhouse_type: str) -> pa.DataType:
    """The Arrow type a ClickHouse column type is written from (ClickHouse casts LowCardinality and Nullable)."""
    scalar = _SCALARS.get(clickhouse_type)
    if scalar is not None:
        return scalar
    wrapped = _WRAPPED.fullmatch(clickhouse_type)
    if wrapped is None:
        raise UnsupportedColumn(f"no Arrow type for ClickHouse column type {clickhouse_type}")
    inner = arrow_type(wrapped.group(2))
    return pa.list_(inner) if wrapped.group(1) == "Array" else inner


def record_batch(table: str, rows: list[dict[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    """The rows as Arrow columns (pyarrow picks the schema's columns out of the dicts in C++)."""
    batch = pa.RecordBatch.from_pylist(rows, schema=schema)
    for field, column in zip(schema, batch.columns, strict=True):
        if not field.nullable and column.null_count:
            raise MissingValues(f"{table}.{field.name}: {column.null_count} of {len(rows)} rows have no value")
    return batch


def arrow_stream(schema: pa.Schema, batches: Sequence[pa.RecordBatch]) -> bytes:
    """Record batches of one table as one Arrow IPC stream: one insert."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


class Blocks:
    """Rows already in Arrow columns, per table. A sealed batch waits for the ClickHouse writer this way: columns
    take a fraction of the memory of row dicts, and the writer's thread then hardly needs the GIL. The blocks of
    a group of batches go in as one stream, one insert, per table."""

    def __init__(self) -> None:
        self.tables: dict[str, list[pa.RecordBatch]] = defaultdict(list)
        self.encoded: dict[str, list[bytes]] = defaultdict(list)  # MsgPack rows, passed on as they came

    def add(self, table: str, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self.tables[table].append(batch)

    def __len__(self) -> int:
        arrow = sum(b.num_rows for batches in self.tables.values() for b in batches)
        return arrow + sum(len(rows) for rows in self.encoded.values())

    @classmethod
    def joined(cls, all_blocks: Sequence[Blocks]) -> Blocks:
        """Every table's record batches and encoded rows of ``all_blocks``, in order."""
        joined = cls()
        for blocks in all_blocks:
            for table, batches in blocks.tables.items():
                joined.tables[table].extend(batches)
            for table, rows in blocks.encoded.items():
                joined.encoded[table].extend(rows)
        return joined


ARROW, MSGPACK = "ArrowStream", "MsgPack"  # the input formats of the blocks the sink inserts


class Inserts(Protocol):
    def insert(self, table: str, columns: Sequence[str], block: bytes, token: str, fmt: str = ARROW) -> None:
        """Insert a block (an Arrow stream, or MsgPack rows) into ``table`` (database.table); an identical block
        (same token) is dropped."""


class ClientInserts:
    """Inserts through clickhouse-connect (a ClickHouse server, or chDB where ChdbInserts is not used)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def insert(self, table: str, columns: Sequence[str], block: bytes, token: str, fmt: str = ARROW) -> None:
        settings = {"insert_deduplication_token": token}
        self.client.raw_insert(table, list(columns), block, settings=settings, fmt=fmt)


class ChdbInserts:
    """Inserts into embedded chDB through its streaming insert: the block goes from memory into the engine.

    clickhouse-connect's chDB path writes every block to a temporary file for ``INSERT ... FROM INFILE``: about
    2 ms more per insert (5.6 against 3.5 ms for one row), and several more GIL hand-offs in the worker.
    """

    def __init__(self, path: str) -> None:
        import chdb  # only where chDB is the store

        self._conn = chdb.connect(path)  # another handle on the engine clickhouse-connect opened at ``path``

    def insert(self, table: str, columns: Sequence[str], block: bytes, token: str, fmt: str = ARROW) -> None:
        if not re.fullmatch(r"[0-9a-f]+", token):
            raise ValueError(f"a deduplication token is hex, got {token!r}")  # it goes into the SQL text
        if fmt not in (ARROW, MSGPACK):
            raise ValueError(f"the sink inserts {ARROW} or {MSGPACK}, got {fmt!r}")
        names = ", ".join(f"`{c}`" for c in columns)
        query = f"INSERT INTO {table} ({names}) SETTINGS insert_deduplication_token = '{token}'"
        with self._conn.send_insert(query, fmt) as inserting:
            inserting.append(block)
            inserting.finish()


class ClickHouseSink:
    def __init__(self, client: Client, database: str = "battrace", inserts: Inserts | None = None) -> None:
        self.client = client
        self.database = database
        self.inserts = inserts or ClientInserts(client)
        # Each table's Arrow schema, from its column types read once (not a DESCRIBE per insert).
        self._schemas: dict[str, pa.Schema] = {}

    def write(self, batch: SinkBatch | Blocks) -> None:
        """Insert every table's rows; returns only after ClickHouse acknowledged all of them."""
        blocks = batch if isinstance(batch, Blocks) else self.blocks(batch)
        for table in INSERT_ORDER:
            batches, encoded = blocks.tables.get(table), blocks.encoded.get(table)
            if batches:
                self._insert(table, arrow_stream(self.schema(table), batches), ARROW)
            if encoded:
                self._insert(table, b"".join(encoded), MSGPACK)

    def _insert(self, table: str, block: bytes, fmt: str) -> None:
        token = hashlib.sha256(block).hexdigest()  # the same rows make the same block: dropped at insert
        self.inserts.insert(f"{self.database}.{table}", COLUMNS[table], block, token, fmt)

    def blocks(self, batch: SinkBatch) -> Blocks:
        """The batch's rows in Arrow columns (refuses a row without a value for a non-NULL column)."""
        blocks = Blocks()
        for table, rows in batch.rows.items():
            if rows:
                blocks.add(table, record_batch(table, rows, self.schema(table)))
        for table, encoded in batch.encoded.items():
            blocks.encoded[table].extend(encoded)
        return blocks

    def schema(self, table: str) -> pa.Schema:
        schema = self._schemas.get(table)
        if schema is None:
            names = list(COLUMNS[table])
            context = self.client.create_insert_context(f"{self.database}.{table}", names)
            fields = [
                pa.field(n, arrow_type(t.name), nullable=t.name.startswith("Nullable("))
                for n, t in zip(names, context.column_types, strict=True)
            ]
            schema = self._schemas[table] = pa.schema(fields)
        return schema
