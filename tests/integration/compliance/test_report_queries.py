"""The report's reads by key (consignment and party chains, no FINAL) give what full FINAL scans give.

The reference queries below are the ones the report used before it read by key; the store gets every
``events`` and ``sealed`` row a second time first, as an unlucky replay could leave them before a merge.
"""

from __future__ import annotations

import json

import pytest
from embedded import embedded_stack
from test_compliance_audit import _python

from streams.simulator import simulate

SCRIPT = """
import json
from battrace.compliance.assays import latest_assays
from battrace.compliance.registry import RECORD_FIELDS, load_registry
from battrace.compliance.shipment_report import _delivery
from battrace.compliance.steps import KINDS, load_steps, steps_of
from battrace.compliance.tables import rows
from battrace.settings import Settings
from battrace.store.client import connect
from schemas.catalog import LICENSED_ENTITY

client = connect(Settings())
for table in ("event_store", "sealed_store"):  # where the events and sealed views keep their rows
    before = client.command(f"SELECT count() FROM battrace.{table}")
    client.command(f"INSERT INTO battrace.{table} SELECT * FROM battrace.{table}", settings={"insert_deduplicate": 0})
    assert client.command(f"SELECT count() FROM battrace.{table}") == 2 * before

def old_steps(keys, until):
    ships = {k.partition(":")[2] for k in keys if k.startswith("shipment:")} | {r["shipment_id"] for r in rows(client,
        "SELECT DISTINCT shipment_id FROM battrace.events FINAL "
        "WHERE kind = 'ConsignmentCreated' AND hasAny(entities, {keys:Array(String)})", keys=keys)}
    found = rows(client,
        "SELECT event_id, kind, toUnixTimestamp64Milli(event_time) AS at_ms, payload FROM battrace.events FINAL "
        "WHERE has({kinds:Array(String)}, kind) AND at_ms <= {until:Int64} "
        "AND (hasAny(entities, {keys:Array(String)}) OR has({ships:Array(String)}, shipment_id)) "
        "ORDER BY event_time, event_id", kinds=list(KINDS), until=until, keys=keys, ships=sorted(ships))
    for r in found:
        r["record"] = json.loads(r.pop("payload"))
    return steps_of(found)

def old_registry(until):
    registry = {}
    for r in rows(client, "SELECT payload FROM battrace.events FINAL WHERE schema = {schema:String} "
                  "AND toUnixTimestamp64Milli(event_time) <= {until:Int64} ORDER BY event_time, event_id",
                  schema=LICENSED_ENTITY, until=until):
        record = json.loads(r["payload"])
        registry.setdefault(record["entity_id"], []).append({f: record.get(f) for f in RECORD_FIELDS})
    return registry

def old_delivery(s):
    return rows(client, "SELECT event_id, toUnixTimestamp64Milli(event_time) AS at_ms FROM battrace.events FINAL "
                "WHERE shipment_id = {s:String} AND kind = 'Delivered' ORDER BY event_time, event_id LIMIT 1", s=s)[0]

def old_assays(lots, until):
    out = {}
    for r in rows(client, "SELECT toUnixTimestamp64Milli(event_time) AS at_ms, payload FROM battrace.events FINAL "
                  "WHERE kind = 'Assay' AND at_ms <= {until:Int64} AND has({ids:Array(String)}, lot_ids[1]) "
                  "ORDER BY event_time, event_id", until=until, ids=sorted(lots)):
        record = json.loads(r["payload"])
        out[record["lot_id"]] = {**record, "at_ms": r["at_ms"]}
    return out

checked = {"consignments": 0, "steps": 0, "parties": 0, "assays": 0}
for s, batteries, lots in client.query(
        "SELECT shipment_id, battery_ids, lot_ids FROM battrace.shipments FINAL WHERE status = 'delivered' "
        "ORDER BY shipment_id").result_rows:
    delivery = _delivery(client, s)
    assert delivery == old_delivery(s), s
    until = delivery["at_ms"]
    keys = sorted({f"shipment:{s}", *(f"battery:{b}" for b in batteries), *(f"lot:{x}" for x in lots)})
    new = load_steps(client, keys, until)
    assert new == old_steps(keys, until), s
    registry = load_registry(client, until)
    assert registry == old_registry(until), s
    all_lots = [r[0] for r in client.query("SELECT lot_id FROM battrace.lots FINAL").result_rows]
    assays = latest_assays(client, all_lots, until)
    assert assays == old_assays(all_lots, until), s
    checked["consignments"] += 1
    checked["steps"] += len(new)
    checked["parties"] += len(registry)
    checked["assays"] += len(assays)
print(json.dumps(checked))
"""


def test_reads_by_key_equal_the_full_scans_even_with_duplicate_rows(tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("report-queries")
    with embedded_stack(home) as stack:
        stack.publish(list(simulate(3000, seed=11)))
        stack.process()
    checked = json.loads(_python(home, "-c", SCRIPT).stdout.strip().splitlines()[-1])
    assert checked["consignments"] >= 3 and checked["steps"] > checked["consignments"]
    assert checked["parties"] > 0 and checked["assays"] > 0
