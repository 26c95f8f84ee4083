"""`battrace epcis export` on a real processed store: a valid EPCIS 2.0 document holding every sealed event, each
eventID the GS1 hash `battrace epcis hash` recomputes, each event linked to its seals; a store whose sealed bytes
were edited refuses to export, naming the event.

One processed store per module (the simulator's sources and the worker's report steps); each command runs in a
child process (chDB opens a store in one process at a time), tampering on a copy of the store.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from embedded import embedded_stack, run_sql, write_sql

from battrace.epcis.schema import problems
from streams.simulator import simulate


def _battrace(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    env.pop("BATTRACE_CLICKHOUSE", None)
    cmd = [sys.executable, "-m", "battrace", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def store_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("epcis")
    with embedded_stack(home) as stack:
        events = list(simulate(3000, seed=7))
        stack.publish(events)
        stack.process(reports_of=events)
    return home


def _export(home: Path, out: Path, *selection: str) -> dict:
    result = _battrace(home, "epcis", "export", *selection, "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "valid against the EPCIS JSON schema" in result.stdout
    return json.loads(out.read_text(encoding="utf-8"))


def test_the_whole_store_exports_as_valid_epcis_with_recomputable_event_ids(store_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.jsonld"
    document = _export(store_home, out, "--all")
    assert problems(document) == []  # checked here again, independently of the command
    events = document["epcisBody"]["eventList"]
    sealed = dict(run_sql(store_home, "SELECT event_id, any(event_hash) FROM battrace.sealed FINAL GROUP BY event_id"))
    assert {e["battrace:sealed"]["eventId"]: e["battrace:sealed"]["eventHash"] for e in events} == sealed
    assert len(events) == len(sealed)
    kinds = Counter(e["battrace:sealed"]["kind"] for e in events)
    assert kinds["ReportDrafted"] >= 1 and kinds["Licence"] >= 1 and kinds["Recycled"] >= 1, kinds
    assert set(Counter(e["type"] for e in events)) == {
        "ObjectEvent",
        "AggregationEvent",
        "AssociationEvent",
        "TransformationEvent",
        "TransactionEvent",
    }
    hashed = _battrace(store_home, "epcis", "hash", str(out))
    assert hashed.returncode == 0, hashed.stderr[-2000:]
    assert hashed.stdout.split() == [e["eventID"] for e in events]
    rows = run_sql(store_home, "SELECT count() FROM battrace.sealed FINAL")[0][0]
    assert sum(len(e["battrace:sealed"]["seals"]) for e in events) == rows


def test_a_battery_exports_its_chain_in_order_under_its_digital_link(store_home: Path, tmp_path: Path) -> None:
    battery, length = run_sql(
        store_home,
        "SELECT b.battery_id, max(s.seq) FROM (SELECT entity_type, entity_id, seq FROM battrace.sealed FINAL) AS s "
        "INNER JOIN "
        "(SELECT battery_id FROM battrace.batteries FINAL WHERE product_type = 'pack' AND digital_link != '') AS b "
        "ON s.entity_id = b.battery_id WHERE s.entity_type = 'battery' GROUP BY b.battery_id "
        "ORDER BY 2 DESC, 1 LIMIT 1",
    )[0]
    document = _export(store_home, tmp_path / "pack.jsonld", "--battery", battery)
    events = document["epcisBody"]["eventList"]
    entity = f"battery:{battery}"
    seqs = [s["seq"] for e in events for s in e["battrace:sealed"]["seals"] if s["entity"] == entity]
    assert seqs == list(range(1, length + 1))
    link = run_sql(store_home, f"SELECT digital_link FROM battrace.batteries FINAL WHERE battery_id = '{battery}'")[0][
        0
    ]
    assert link.startswith("https://id.gs1.org/01/")
    # a chain holds events in arrival order, so commissioning need not come first: find it
    commissioning = [e for e in events if e.get("bizStep") == "commissioning"]
    assert len(commissioning) == 1 and commissioning[0]["epcList"] == [link]
    assert f"urn:battrace:battery:{battery}" not in json.dumps(events)


def test_an_id_with_nothing_sealed_is_one_line_exit_2(store_home: Path, tmp_path: Path) -> None:
    result = _battrace(store_home, "epcis", "export", "--lot", "NO-SUCH-LOT", "--out", str(tmp_path / "x.jsonld"))
    assert result.returncode == 2, result.stderr
    assert "no sealed events for lot NO-SUCH-LOT" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.jsonld").exists()


def test_edited_sealed_bytes_stop_the_export_naming_the_event(store_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(store_home, home, symlinks=True, ignore=shutil.ignore_patterns("broker"))
    lot, event_id = run_sql(
        home,
        "SELECT lot_ids[1], event_id FROM battrace.events FINAL WHERE kind = 'Assay' ORDER BY event_id LIMIT 1",
    )[0]
    write_sql(
        home,
        f"ALTER TABLE battrace.event_store UPDATE canonical = concat(canonical, '\\x00') WHERE event_id = '{event_id}'",
    )
    result = _battrace(home, "epcis", "export", "--lot", lot, "--out", str(tmp_path / "lot.jsonld"))
    assert result.returncode == 1, result.stderr
    assert event_id in result.stderr and "do not hash to its seal" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "lot.jsonld").exists()
