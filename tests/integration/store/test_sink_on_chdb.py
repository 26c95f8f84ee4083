"""The ClickHouse sink on real chDB: every column type the tables use goes in as written and comes back the same,
a re-sent block adds no rows, and a row without a value for a non-NULL column is refused (never defaulted).

chDB opens one store per process, so each case runs in a child process (the pytest process never opens chDB).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sink_rows import EDGE, EVENT

from battrace.store.row_codec import STATIC, RowFormat

LOT = {
    "lot_id": "L1",
    "product": "cobalt sulfate",
    "mass_kg": 1250.5,
    "elements": ["Co", "Ni"],
    "fractions": [0.2, 0.05],
    "smelter_id": "S1",
    "mine_licences": [],
    "origin_country": "CD",
    "refining_kgco2e_per_kg": None,
    "recycled_pre_consumer": 0.0,
    "recycled_post_consumer": 0.1,
    "parent_lots": ["L0"],
    "consumed_kg": 0.0,
    "assayed": True,
    "lab_id": "",
    "accreditation": "",
    "certificate_ref": "",
    "assayed_at": 0,
    "recovered": False,
    "yield_fraction": 0.93,
    "updated_at": 1_767_923_717_000,
    "version": 2,
}

CHILD = r"""
import json, os, sys
from battrace.store.client import apply_ddl
import clickhouse_connect
from battrace.store.row_codec import STATIC
from battrace.store.sink import Blocks, ChdbInserts, ClickHouseSink, SinkBatch
from battrace.store.tables import MissingValues

path, inserts, grouped = os.path.realpath(sys.argv[1]), sys.argv[2], sys.argv[3] == "grouped"
rows = json.loads(sys.stdin.read())
encoded = rows.pop("encoded", {})  # rows that go in as MsgPack rows (battrace/store/row_codec.py)
for event in rows.get("events", []) + encoded.get("events", []):
    event["canonical"] = bytes.fromhex(event["canonical"])
client = clickhouse_connect.get_client(dsn=f"chdb:///{path}")
apply_ddl(client)
sink = ClickHouseSink(client, inserts=ChdbInserts(path) if inserts == "chdb" else None)
halves = [SinkBatch(), SinkBatch()]  # grouped: each table's rows as two batches' blocks, joined (a seal group)
for table, table_rows in rows.items():
    for i, row in enumerate(table_rows):
        halves[grouped and i >= len(table_rows) // 2].add(table, row)
for table, table_rows in encoded.items():
    for i, row in enumerate(table_rows):
        halves[grouped and i >= len(table_rows) // 2].add_encoded(table, STATIC[table].encode(row))
rows.update({table: [] for table in encoded})
try:
    batch = Blocks.joined([sink.blocks(h) for h in halves]) if grouped else halves[0]
    sink.write(batch)
    sink.write(batch)  # at-least-once: the same block again
except MissingValues as exc:
    print(json.dumps({"refused": str(exc)}))
    sys.exit(0)
out = {}
for table in rows:
    # projections (version-keyed) collapse at merge, so they are read FINAL; event tables carry no FINAL
    final = "FINAL" if table in ("lots", "genealogy") else ""  # genealogy has no deduplication window either
    columns = "* EXCEPT canonical" if table == "events" else "*"  # not UTF-8: compared as hex below
    query = f"SELECT {columns} FROM battrace.{table} {final} ORDER BY tuple(*) FORMAT JSONEachRow"
    out[table] = [json.loads(line) for line in client.raw_query(query, settings={
        "output_format_json_quote_64bit_integers": 0,
        "date_time_output_format": "unix_timestamp",
    }).decode().splitlines()]
if "events" in rows:
    out["canonical_hex"] = client.query("SELECT hex(canonical) FROM battrace.events").result_rows[0][0]
types = client.query("SELECT table, name, type FROM system.columns WHERE database = 'battrace'").result_rows
out["column_types"] = {f"{table}.{name}": type_name for table, name, type_name in types}
print(json.dumps(out))
"""


def _sink(tmp_path: Path, rows: dict[str, list[dict]], inserts: str, grouped: bool = False) -> dict:
    wire = json.loads(json.dumps(rows, default=lambda b: b.hex()))
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "store"), inserts, "grouped" if grouped else "one"],
        input=json.dumps(wire),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


# chDB's own streaming insert (the worker's), and clickhouse-connect's (what a ClickHouse server gets)
INSERTS = pytest.mark.parametrize("inserts", ["chdb", "client"])


@INSERTS
def test_every_column_type_round_trips_and_a_resent_block_adds_nothing(tmp_path: Path, inserts: str) -> None:
    out = _sink(tmp_path, {"events": [EVENT], "lots": [LOT]}, inserts)
    assert len(out["events"]) == 1  # written twice, stored once (the block's deduplication token)
    assert len(out["lots"]) == 1
    event, lot = out["events"][0], out["lots"][0]
    assert out["canonical_hex"] == EVENT["canonical"].hex().upper()
    assert round(float(event.pop("event_time")) * 1000) == EVENT["event_time"]
    assert event == {k: v for k, v in EVENT.items() if k not in ("canonical", "event_time")}
    for key in ("assayed_at", "updated_at"):
        assert round(float(lot.pop(key)) * 1000) == LOT[key]
    assert lot == {k: v for k, v in LOT.items() if k not in ("assayed_at", "updated_at")}


@INSERTS
def test_a_row_missing_a_non_null_column_is_refused(tmp_path: Path, inserts: str) -> None:
    incomplete = {k: v for k, v in EVENT.items() if k != "site_id"}
    out = _sink(tmp_path, {"events": [incomplete]}, inserts)
    assert out["refused"] == "events.site_id: the row has no value"


@INSERTS
def test_a_missing_nullable_value_is_null(tmp_path: Path, inserts: str) -> None:
    out = _sink(tmp_path, {"lots": [{k: v for k, v in LOT.items() if k != "yield_fraction"}]}, inserts)
    assert out["lots"][0]["yield_fraction"] is None


@INSERTS
def test_the_blocks_of_a_group_of_batches_go_in_as_one_stream_once(tmp_path: Path, inserts: str) -> None:
    ids = [f"urn:uuid:6f1c0e2a-0000-4000-8000-00000000000{i}" for i in range(5)]
    events = [{**EVENT, "event_id": event_id, "source_offset": i} for i, event_id in enumerate(ids)]
    out = _sink(tmp_path, {"events": events, "lots": [LOT, {**LOT, "lot_id": "L2"}]}, inserts, grouped=True)
    assert [e["source_offset"] for e in out["events"]] == [0, 1, 2, 3, 4]  # both halves, each row once
    assert [lot["lot_id"] for lot in out["lots"]] == ["L1", "L2"]


@INSERTS
def test_encoded_rows_round_trip_and_a_resent_block_adds_nothing(tmp_path: Path, inserts: str) -> None:
    out = _sink(
        tmp_path,
        {"encoded": {"events": [EVENT], "genealogy": [EDGE, {**EDGE, "to_id": "B0", "mass_kg": None}]}},
        inserts,
    )
    assert len(out["events"]) == 1  # written twice, stored once
    event = out["events"][0]
    assert out["canonical_hex"] == EVENT["canonical"].hex().upper()
    assert round(float(event.pop("event_time")) * 1000) == EVENT["event_time"]
    assert event == {k: v for k, v in EVENT.items() if k not in ("canonical", "event_time")}
    edges = out["genealogy"]
    assert [(e["to_id"], e["mass_kg"]) for e in edges] == [("B0", None), ("B1", 3.0)]
    assert all(round(float(e.pop("event_time")) * 1000) == EDGE["event_time"] for e in edges)
    assert edges[1] == {k: (3.0 if k == "mass_kg" else v) for k, v in EDGE.items() if k != "event_time"}


def test_encoded_row_groups_of_two_batches_go_in_once_each(tmp_path: Path) -> None:
    ids = [f"urn:uuid:6f1c0e2a-0000-4000-8000-00000000000{i}" for i in range(4)]
    events = [{**EVENT, "event_id": event_id, "source_offset": i} for i, event_id in enumerate(ids)]
    out = _sink(tmp_path, {"encoded": {"events": events}, "lots": [LOT]}, "chdb", grouped=True)
    assert [e["source_offset"] for e in out["events"]] == [0, 1, 2, 3]
    assert [lot["lot_id"] for lot in out["lots"]] == ["L1"]


def test_the_formats_known_without_clickhouse_are_those_of_its_column_types(tmp_path: Path) -> None:
    types = _sink(tmp_path, {"lots": [LOT]}, "chdb")["column_types"]
    for table, fmt in STATIC.items():
        of_table = {c: types[f"{table}.{c}"] for c in fmt.columns}
        assert fmt.nullable == {c for c, t in of_table.items() if t.startswith("Nullable(")}, table
        assert fmt.floats == {c for c, t in of_table.items() if "Float" in t}, table
        read = RowFormat.of_types(table, of_table)
        assert (read.floats, read.nullable, read.float_arrays) == (fmt.floats, fmt.nullable, fmt.float_arrays)


@INSERTS
def test_integers_for_float_columns_go_in_as_floats(tmp_path: Path, inserts: str) -> None:
    lot = {**LOT, "mass_kg": 1250, "fractions": [1, 0.05], "yield_fraction": 1}  # Float64, Array(Float64), Nullable
    stored = _sink(tmp_path, {"lots": [lot]}, inserts)["lots"][0]
    assert (stored["mass_kg"], stored["fractions"], stored["yield_fraction"]) == (1250.0, [1.0, 0.05], 1.0)
