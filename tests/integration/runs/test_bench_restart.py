"""`battrace bench --restart` end to end: a killed worker's successor recovers its tables and extends the same chains;
the JSON carries how long that took and how much changelog it read back, never a speed asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from embedded import run_sql, verify_all

BATTERIES = 2000


def _bench(home: Path, table_store: str) -> dict:
    env = {**os.environ, "BATTRACE_HOME": str(home), "BATTRACE_TABLE_STORE": table_store}
    args = ["--batteries", str(BATTERIES), "--restart", "--json"]
    result = subprocess.run(
        [sys.executable, "-m", "battrace.cli.bench", *args], env=env, capture_output=True, text=True, timeout=540
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("table_store", ["memory://", "rocksdb://"])
def test_a_restarted_worker_recovers_its_tables_and_extends_the_same_chains(tmp_path: Path, table_store: str) -> None:
    if table_store.startswith("rocksdb"):
        pytest.importorskip("rocksdict", reason="the RocksDB table store needs the rocksdict package")
    report = _bench(tmp_path, table_store)
    store = tmp_path / "bench"
    states = run_sql(store, "SELECT uniqExact(entity_type, entity_id) FROM battrace.sealed FINAL")[0][0]
    extended = run_sql(store, "SELECT count() FROM battrace.sealed FINAL WHERE entity_type = 'battery' AND seq = 2")
    assert report["recovery_events"] == 200 and extended == [[200]]  # the batch after the kill, on recovered chains
    assert report["published"] == BATTERIES + 200 == report["sealed"] + report["rejected"]
    assert report["events"] == BATTERIES and states >= BATTERIES
    assert report["recovery_s"] > 0
    by = report["recovery_replayed_by"]
    assert set(by) == {"entities", "event_ids"} and report["recovery_replayed"] == sum(by.values())
    if table_store == "memory://":  # nothing survives the kill: every state comes back from its changelog
        assert by["entities"] >= states and by["event_ids"] > 0
    else:  # killed at rest: the stores on disk hold everything their changelogs hold
        assert by == {"entities": 0, "event_ids": 0}
    code, verified = verify_all(store)
    assert code == 0 and verified["ok"], verified["failures"][:5]
