"""The analyst-facing `events`, `sealed` and `log_entries` on real chDB, over the storage tables the sink writes:
hashes shown in hex, each fact stored once and given back exactly (a log entry's bytes, prev_hash, event_hash), a
store with the old tables moved in without losing or laundering anything, and rejects' raw bytes expiring.

chDB opens one store per process: rows are written in a child process; reads go through `battrace query`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from embedded import run_sql, write_sql
from sink_rows import EVENT

from battrace.domain.chain import GENESIS, chain_step
from battrace.tlog import leaf_hash
from schemas.log_entries import redelivered_entry, sealed_entry

WRITE_ROWS = r"""
import json, os, sys
import clickhouse_connect
from battrace.store.client import apply_ddl
from battrace.store.sink import ChdbInserts, ClickHouseSink, SinkBatch

path = os.path.realpath(sys.argv[1])
rows = json.loads(sys.stdin.read())
client = clickhouse_connect.get_client(dsn=f"chdb:///{path}")
apply_ddl(client)
sink = ClickHouseSink(client, inserts=ChdbInserts(path))
batch = SinkBatch()
for table, table_rows in rows.items():
    for row in table_rows:
        for column in ("canonical", "entry"):
            if column in row:
                row[column] = bytes.fromhex(row[column])
        batch.add(table, row)
sink.write(batch)
sink.write(batch)  # at-least-once: the same rows again change nothing
"""


def _write(home: Path, rows: dict[str, list[dict]]) -> None:
    wire = json.dumps(rows, default=lambda b: b.hex())
    store = home / "clickhouse"
    result = subprocess.run(
        [sys.executable, "-c", WRITE_ROWS, str(store)], input=wire, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]


def _chain(entity_type: str, entity_id: str, event_ids: list[str], first_index: int) -> list[dict]:
    rows, prev = [], GENESIS
    for seq, event_id in enumerate(event_ids, start=1):
        event_hash = hashlib.sha256(event_id.encode()).digest()
        head = chain_step(prev, event_hash, seq)
        rows.append(
            {
                "entity_type": entity_type,
                "entity_id": entity_id,
                "seq": seq,
                "event_id": event_id,
                "event_hash": event_hash.hex(),
                "prev_hash": prev.hex(),
                "chain_hash": head.hex(),
                "log_id": "battrace.test/log/0",
                "log_index": first_index + seq - 1,
                "sealed_at": 1_767_923_717_000 + seq,
            }
        )
        prev = head
    return rows


def test_the_views_give_back_every_hash_in_hex_and_every_log_entry_byte_for_byte(tmp_path: Path) -> None:
    plain = _chain("battery", "CH2CBL12000001T150000001", ["e1", "e2", "e3"], 0)
    escaped = _chain("lot", 'LOT "7"\\站点', ["e4"], 3)  # ids JSON escapes (stored as they are) and non-ASCII
    sealed = plain + escaped
    entries = [
        {"log_id": r["log_id"], "log_index": r["log_index"], "kind": "sealed", "entry": sealed_entry(r)} for r in sealed
    ]
    again = redelivered_entry("battery:CH2CBL12000001T150000001", "e1", ("mes.events", 0, 9))
    entries.append({"log_id": "battrace.test/log/0", "log_index": 4, "kind": "redelivered", "entry": again})
    _write(tmp_path, {"events": [EVENT], "sealed": sealed, "log_entries": entries})

    columns = "entity_type, entity_id, seq, event_id, event_hash, prev_hash, chain_hash, log_id, log_index"
    shown = run_sql(tmp_path, f"SELECT {columns} FROM battrace.sealed ORDER BY entity_type, entity_id, seq")
    assert shown == [[r[c] for c in columns.split(", ")] for r in sorted(sealed, key=lambda r: r["entity_type"])]
    assert run_sql(tmp_path, "SELECT count() FROM battrace.sealed_store") == [[len(sealed)]]  # no duplicate

    logged = run_sql(tmp_path, "SELECT log_index, kind, entry, leaf_hash FROM battrace.log_entries ORDER BY log_index")
    assert [(i, kind, entry.encode()) for i, kind, entry, _ in logged] == [
        (e["log_index"], e["kind"], e["entry"]) for e in entries
    ]
    assert [h for *_, h in logged] == [leaf_hash(e["entry"]).hex() for e in entries]
    stored = run_sql(tmp_path, "SELECT log_index, entry != '' FROM battrace.log_store ORDER BY log_index")
    assert stored == [[0, False], [1, False], [2, False], [3, True], [4, True]]  # rendered, except where escaped

    event_hash = run_sql(tmp_path, f"SELECT event_hash FROM battrace.events WHERE event_id = '{EVENT['event_id']}'")
    assert event_hash == [[hashlib.sha256(EVENT["canonical"]).hexdigest()]]


def test_a_stored_chain_hash_changed_breaks_the_link_to_the_next_row_and_shows_in_the_log_entry(tmp_path: Path) -> None:
    sealed = _chain("battery", "B1", ["e1", "e2"], 0)
    entries = [
        {"log_id": r["log_id"], "log_index": r["log_index"], "kind": "sealed", "entry": sealed_entry(r)} for r in sealed
    ]
    _write(tmp_path, {"sealed": sealed, "log_entries": entries})
    write_sql(tmp_path, "ALTER TABLE battrace.sealed_store UPDATE chain_hash = SHA256('forged') WHERE seq = 1")
    forged = hashlib.sha256(b"forged").hexdigest()
    assert run_sql(tmp_path, "SELECT seq, prev_hash, chain_hash FROM battrace.sealed ORDER BY seq") == [
        [1, GENESIS.hex(), forged],
        [2, sealed[0]["chain_hash"], sealed[1]["chain_hash"]],  # stored: the next row still links to the true hash
    ]
    [[entry, leaf]] = run_sql(tmp_path, "SELECT entry, leaf_hash FROM battrace.log_entries WHERE log_index = 0")
    assert entry.encode() == sealed_entry({**sealed[0], "chain_hash": forged})
    assert leaf != leaf_hash(entries[0]["entry"]).hex()  # what the signed log committed to no longer matches


OLD_TABLES = (
    "CREATE DATABASE IF NOT EXISTS battrace",
    "CREATE TABLE battrace.events (event_id String, source_topic LowCardinality(String), source_partition UInt32, "
    "source_offset UInt64, schema LowCardinality(String), kind LowCardinality(String), "
    "event_time DateTime64(3, 'UTC'), tz_offset String, entities Array(String), battery_ids Array(String), "
    "lot_ids Array(String), shipment_id String, site_id String, lat Nullable(Float64), lon Nullable(Float64), "
    "payload String, canonical String, event_hash String) ENGINE = ReplacingMergeTree ORDER BY event_id",
    "CREATE TABLE battrace.sealed (entity_type LowCardinality(String), entity_id String, seq UInt64, "
    "event_id String, event_hash String, prev_hash String, chain_hash String, log_id LowCardinality(String), "
    "log_index UInt64, sealed_at DateTime64(3, 'UTC')) ENGINE = ReplacingMergeTree "
    "ORDER BY (entity_type, entity_id, seq)",
    "CREATE TABLE battrace.log_entries (log_id LowCardinality(String), log_index UInt64, "
    "kind LowCardinality(String), entry String, leaf_hash String) ENGINE = ReplacingMergeTree "
    "ORDER BY (log_id, log_index)",
)

APPLY_DDL = (
    "import clickhouse_connect, os, sys; from battrace.store.client import apply_ddl; "
    "apply_ddl(clickhouse_connect.get_client(dsn='chdb:///' + os.path.realpath(sys.argv[1])))"
)


def _apply_ddl(home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", APPLY_DDL, str(home / "clickhouse")], capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_a_store_with_the_old_tables_is_moved_in_and_a_disagreeing_entry_stays_as_it_was(tmp_path: Path) -> None:
    sealed = _chain("battery", "B1", ["e1", "e2"], 0)
    entries = [sealed_entry(r) for r in sealed]
    entries[1] = entries[1].replace(b'"seq":2', b'"seq":9')  # tampered before the move: must stay visible
    values = ", ".join(
        f"('{r['entity_type']}', '{r['entity_id']}', {r['seq']}, '{r['event_id']}', '{r['event_hash']}', "
        f"'{r['prev_hash']}', '{r['chain_hash']}', '{r['log_id']}', {r['log_index']}, 1767923717)"
        for r in sealed
    )
    logged = ", ".join(f"('battrace.test/log/0', {i}, 'sealed', '{e.decode()}', '')" for i, e in enumerate(entries))
    write_sql(
        tmp_path,
        *OLD_TABLES,
        "INSERT INTO battrace.events (event_id, kind, canonical, event_hash, event_time) "
        "VALUES ('e1', 'Commissioned', 'avro', 'not the hash', 1767923717)",
        f"INSERT INTO battrace.sealed VALUES {values}",
        f"INSERT INTO battrace.log_entries VALUES {logged}",
    )
    _apply_ddl(tmp_path)
    _apply_ddl(tmp_path)  # again: nothing left to move, nothing moved twice

    kinds = run_sql(
        tmp_path,
        "SELECT name, engine FROM system.tables WHERE database = 'battrace' AND name IN "
        "('events', 'sealed', 'log_entries', 'events_legacy', 'sealed_legacy', 'log_entries_legacy') ORDER BY name",
    )
    assert kinds == [["events", "View"], ["log_entries", "View"], ["sealed", "View"]]
    columns = "entity_type, entity_id, seq, event_id, event_hash, prev_hash, chain_hash, log_index"
    assert run_sql(tmp_path, f"SELECT {columns} FROM battrace.sealed ORDER BY seq") == [
        [r[c] for c in columns.split(", ")] for r in sealed
    ]
    moved = run_sql(tmp_path, "SELECT entry FROM battrace.log_entries ORDER BY log_index")
    assert [e.encode() for [e] in moved] == entries
    assert run_sql(tmp_path, "SELECT entry != '' FROM battrace.log_store ORDER BY log_index") == [[False], [True]]
    assert run_sql(tmp_path, "SELECT event_id, event_hash FROM battrace.events") == [
        ["e1", hashlib.sha256(b"avro").hexdigest()]
    ]


REJECTS_WITH_RETENTION = r"""
import os, sys
import clickhouse_connect
from battrace.settings import Settings
from battrace.store.client import apply_ddl
from battrace.store.retention import apply_retention

client = clickhouse_connect.get_client(dsn="chdb:///" + os.path.realpath(sys.argv[1]))
apply_ddl(client)
client.command(
    "INSERT INTO battrace.rejects (source_topic, source_partition, source_offset, reason, detail, original, "
    "kafka_timestamp, rejected_at) VALUES "
    "('mes.events', 0, 1, 'undecodable', 'old', 'old bytes', now64(3), now64(3) - INTERVAL 40 DAY), "
    "('mes.events', 0, 2, 'undecodable', 'new', 'new bytes', now64(3) - INTERVAL 400 DAY, now64(3) - INTERVAL 20 DAY)"
)
apply_retention(client, Settings(reject_bytes_days=30))
apply_retention(client, Settings(reject_bytes_days=30))  # unchanged: no second ALTER
client.command("OPTIMIZE TABLE battrace.rejects FINAL")
print(client.command("SELECT count() FROM system.mutations WHERE database = 'battrace' AND table = 'rejects'"))
"""


def test_rejects_raw_bytes_expire_after_the_configured_days_and_the_reject_stays(tmp_path: Path) -> None:
    env = {**os.environ, "BATTRACE_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", REJECTS_WITH_RETENTION, str(tmp_path / "clickhouse")],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.split()[-1]) <= 1  # the TTL was set once
    rows = run_sql(tmp_path, "SELECT source_offset, reason, detail, original FROM battrace.rejects ORDER BY 1")
    assert rows == [[1, "undecodable", "old", ""], [2, "undecodable", "new", "new bytes"]]
