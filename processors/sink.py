"""The ClickHouse sink: column-oriented batch inserts, idempotent under replay.

Rows are keyed (ReplacingMergeTree) so a replayed batch replaces instead of duplicating, and each
insert carries a deduplication token derived from its content, so an identical re-sent block is a no-op.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import msgspec
from clickhouse_connect.datatypes.base import ClickHouseType
from clickhouse_connect.driver.client import Client

_token_encoder = msgspec.msgpack.Encoder()  # the block's content, for insert_deduplication_token

COLUMNS: dict[str, tuple[str, ...]] = {
    "events": (
        "event_id",
        "source_topic",
        "source_partition",
        "source_offset",
        "schema",
        "kind",
        "event_time",
        "tz_offset",
        "entities",
        "battery_ids",
        "lot_ids",
        "shipment_id",
        "site_id",
        "lat",
        "lon",
        "payload",
        "canonical",
        "event_hash",
    ),
    "sealed": (
        "entity_type",
        "entity_id",
        "seq",
        "event_id",
        "event_hash",
        "prev_hash",
        "chain_hash",
        "log_id",
        "log_index",
        "sealed_at",
    ),
    "carbon": (
        "line_id",
        "entity_type",
        "entity_id",
        "stage",
        "source",
        "quantity",
        "unit",
        "kg_co2e",
        "factor_id",
        "factor_version",
        "event_id",
        "event_time",
    ),
    "flags": ("entity_type", "entity_id", "category", "code", "detail", "event_id", "seq", "event_time"),
    "genealogy": ("from_type", "from_id", "to_type", "to_id", "relation", "mass_kg", "event_id", "event_time"),
    "reports": (
        "shipment_id",
        "delivered_at",
        "report_hash",
        "document",
        "missing_fields",
        "signed_by",
        "battery_ids",
        "lot_ids",
        "created_at",
    ),
    "log_entries": ("log_id", "log_index", "kind", "entry", "leaf_hash"),
    "checkpoints": ("log_id", "size", "root", "note", "key_id", "compact_range", "created_at"),
    "rejects": (
        "source_topic",
        "source_partition",
        "source_offset",
        "reason",
        "detail",
        "event_id",
        "original",
        "kafka_timestamp",
    ),
    "batteries": (
        "battery_id",
        "product_type",
        "chemistry",
        "model",
        "capacity_ah",
        "energy_kwh",
        "mass_kg",
        "certification",
        "site_id",
        "phase",
        "status",
        "parent_id",
        "children",
        "lots",
        "vin",
        "vehicle_category",
        "digital_link",
        "last_event",
        "updated_at",
        "version",
    ),
    "lots": (
        "lot_id",
        "product",
        "mass_kg",
        "elements",
        "fractions",
        "smelter_id",
        "mine_licences",
        "origin_country",
        "refining_kgco2e_per_kg",
        "recycled_pre_consumer",
        "recycled_post_consumer",
        "parent_lots",
        "consumed_kg",
        "assayed",
        "lab_id",
        "accreditation",
        "certificate_ref",
        "assayed_at",
        "recovered",
        "yield_fraction",
        "updated_at",
        "version",
    ),
    "shipments": (
        "shipment_id",
        "mode",
        "gross_mass_kg",
        "battery_ids",
        "lot_ids",
        "transporter_id",
        "transporter_licence",
        "origin_site",
        "destination_site",
        "status",
        "positions",
        "distance_km",
        "transport_kgco2e",
        "updated_at",
        "version",
    ),
}
# Parents before children: a sealed row never lands before the event row it points at.
INSERT_ORDER = (
    "events",
    "carbon",
    "flags",
    "genealogy",
    "batteries",
    "lots",
    "shipments",
    "sealed",
    "log_entries",
    "checkpoints",
    "reports",
    "rejects",
)


class SinkBatch:
    """Rows gathered while processing one batch of Kafka messages."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows[table].append(row)

    def __len__(self) -> int:
        return sum(len(v) for v in self.rows.values())


class ClickHouseSink:
    def __init__(self, client: Client, database: str = "battrace") -> None:
        self.client = client
        self.database = database
        # Each table's column types, read once: without them every insert first asks ClickHouse for the table's
        # columns (a DESCRIBE per insert, about a tenth of the insert thread's time).
        self._types: dict[str, Sequence[ClickHouseType]] = {}

    def write(self, batch: SinkBatch) -> None:
        """Insert every table's rows; returns only after ClickHouse acknowledged all of them."""
        for table in INSERT_ORDER:
            rows = batch.rows.get(table)
            if rows:
                self.insert_rows(table, rows)

    def insert_rows(self, table: str, rows: list[dict[str, Any]]) -> None:
        # Time columns are DateTime64(3): epoch milliseconds go in as raw ticks, no datetime objects needed.
        names = COLUMNS[table]
        columns = [[row[name] for row in rows] for name in names]
        token = hashlib.sha256(_token_encoder.encode(columns)).hexdigest()
        types = self._types.get(table)
        if types is None:
            context = self.client.create_insert_context(f"{self.database}.{table}", list(names))
            types = self._types[table] = context.column_types
        self.client.insert(
            f"{self.database}.{table}",
            columns,
            column_names=list(names),
            column_types=types,
            column_oriented=True,
            settings={"insert_deduplication_token": token},
        )
