"""The ClickHouse sink: one insert per table and batch, idempotent under replay.

Rows are keyed (ReplacingMergeTree) so a replayed batch replaces instead of duplicating, and each
insert carries a deduplication token derived from its content, so an identical re-sent block is a no-op.

Rows go in as MsgPack rows (battrace/store/row_codec.py), encoded when their batch is computed: clickhouse-connect's
Native writer spent about 30 µs of Python per sealed event, and converting rows to Arrow columns about 5 µs a row
(GIL time the seal stage's compute waits for); a MsgPack row costs about a third of the Arrow conversion.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Protocol

from clickhouse_connect.driver.client import Client

from battrace.store.log_rows import stored_log_row
from battrace.store.row_codec import RowFormat
from battrace.store.tables import COLUMNS, INSERT_ORDER, storage_table

# Rows the store keeps in another form than the pipeline makes them (before encoding).
_STORED_FORM = {"log_entries": stored_log_row}


class SinkBatch:
    """Rows gathered while processing one batch of Kafka messages: as dicts, or already encoded where they were
    made (an event's own rows, encoded by the ingest process)."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.encoded: dict[str, list[bytes]] = defaultdict(list)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows[table].append(row)

    def add_encoded(self, table: str, row: bytes) -> None:
        self.encoded[table].append(row)

    def __len__(self) -> int:
        return sum(len(v) for v in self.rows.values()) + sum(len(v) for v in self.encoded.values())


class Blocks:
    """Encoded rows per table. A sealed batch waits for the ClickHouse writer this way: bytes take a fraction of the
    memory of row dicts, and the writer's thread then only joins them (it hardly needs the GIL). The blocks of a
    group of batches go in as one insert per table."""

    def __init__(self) -> None:
        self.tables: dict[str, list[bytes]] = defaultdict(list)

    def __len__(self) -> int:
        return sum(len(rows) for rows in self.tables.values())

    @classmethod
    def joined(cls, all_blocks: Sequence[Blocks]) -> Blocks:
        """Every table's rows of ``all_blocks``, in order."""
        joined = cls()
        for blocks in all_blocks:
            for table, rows in blocks.tables.items():
                joined.tables[table].extend(rows)
        return joined


class Inserts(Protocol):
    def insert(self, table: str, columns: Sequence[str], block: bytes, token: str) -> None:
        """Insert MsgPack rows into ``table`` (database.table); an identical block (same token) is dropped."""


class ClientInserts:
    """Inserts through clickhouse-connect (a ClickHouse server, or chDB where ChdbInserts is not used)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def insert(self, table: str, columns: Sequence[str], block: bytes, token: str) -> None:
        settings = {"insert_deduplication_token": token}
        self.client.raw_insert(table, list(columns), block, settings=settings, fmt="MsgPack")


class ChdbInserts:
    """Inserts into embedded chDB through its streaming insert: the block goes from memory into the engine.

    clickhouse-connect's chDB path writes every block to a temporary file for ``INSERT ... FROM INFILE``: about
    2 ms more per insert (5.6 against 3.5 ms for one row), and several more GIL hand-offs in the worker.
    """

    def __init__(self, path: str) -> None:
        import chdb  # only where chDB is the store

        self._conn = chdb.connect(path)  # another handle on the engine clickhouse-connect opened at ``path``

    def insert(self, table: str, columns: Sequence[str], block: bytes, token: str) -> None:
        if not re.fullmatch(r"[0-9a-f]+", token):
            raise ValueError(f"a deduplication token is hex, got {token!r}")  # it goes into the SQL text
        names = ", ".join(f"`{c}`" for c in columns)
        query = f"INSERT INTO {table} ({names}) SETTINGS insert_deduplication_token = '{token}'"
        with self._conn.send_insert(query, "MsgPack") as inserting:
            inserting.append(block)
            inserting.finish()


class ClickHouseSink:
    def __init__(self, client: Client, database: str = "battrace", inserts: Inserts | None = None) -> None:
        self.client = client
        self.database = database
        self.inserts = inserts or ClientInserts(client)
        # Each table's row format, from its column types read once (not a DESCRIBE per insert).
        self._formats: dict[str, RowFormat] = {}

    def write(self, batch: SinkBatch | Blocks) -> None:
        """Insert every table's rows; returns only after ClickHouse acknowledged all of them."""
        blocks = batch if isinstance(batch, Blocks) else self.blocks(batch)
        for table in INSERT_ORDER:
            rows = blocks.tables.get(table)
            if rows:
                block = b"".join(rows)
                token = hashlib.sha256(block).hexdigest()  # the same rows make the same block: dropped at insert
                self.inserts.insert(f"{self.database}.{storage_table(table)}", COLUMNS[table], block, token)

    def blocks(self, batch: SinkBatch) -> Blocks:
        """The batch's rows encoded (refuses a row without a value for a non-NULL column)."""
        blocks = Blocks()
        for table, rows in batch.rows.items():
            if rows:
                encode = self.row_format(table).encode
                stored = _STORED_FORM.get(table)
                blocks.tables[table].extend([encode(stored(row) if stored else row) for row in rows])
        for table, encoded in batch.encoded.items():
            blocks.tables[table].extend(encoded)
        return blocks

    def row_format(self, table: str) -> RowFormat:
        made = self._formats.get(table)
        if made is None:
            context = self.client.create_insert_context(f"{self.database}.{storage_table(table)}", list(COLUMNS[table]))
            types = {n: t.name for n, t in zip(COLUMNS[table], context.column_types, strict=True)}
            made = self._formats[table] = RowFormat.of_types(table, types)
        return made
