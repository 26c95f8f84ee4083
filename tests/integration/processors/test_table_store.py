"""Disk-backed state: the pipeline with faust's RocksDB store (through rocksdict), on the real broker and chDB.

The worker reads its settings from the environment, so the store is switched with BATTRACE_TABLE_STORE.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from embedded import Stack, broker_for_tests
from published import REJECTED_PUBLISHED, SEALED_PUBLISHED

from battrace.settings import Settings
from processors.event_ids import EventIdIndex
from streams.kafka import ensure_topics
from streams.simulator import simulate

rocksdict = pytest.importorskip("rocksdict", reason="the RocksDB table store needs the rocksdict package")

OFFSET_KEY = b"__faust\x00offset__"  # faust's own bookkeeping key in every partition database
SEALED = (
    "SELECT entity_type, entity_id, seq, event_id, chain_hash, log_id, log_index FROM battrace.sealed FINAL "
    "ORDER BY entity_type, entity_id, seq"
)


@pytest.fixture(scope="module")
def rocks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One broker and store for the module: a first run, then restarts that must pick up the disk state."""
    home = tmp_path_factory.mktemp("rocksdb")
    settings = Settings(home=home, partitions=2, batch_seconds=0.2, table_store="rocksdb://")
    with pytest.MonkeyPatch.context() as mp, broker_for_tests(settings, home / "broker") as broker:
        mp.setenv("BATTRACE_TABLE_STORE", settings.table_store)  # WorkerProcess hands the environment to workers
        ensure_topics(broker.bootstrap, settings.partitions)
        yield Stack(settings, broker.bootstrap, broker)


def _process(stack: Stack) -> None:
    """Stack.process, failing fast with the worker's own words when an agent crashed: faust keeps a worker
    with a crashed agent running and acks what it consumes, so catching up alone proves nothing."""
    log = stack.settings.home / "worker.log"
    seen = log.stat().st_size if log.exists() else 0
    with stack.worker() as worker:
        stack.caught_up(worker, timeout_s=300)
        with open(log, "rb") as f:
            f.seek(seen)
            crashed = [line for line in f.read().decode(errors="replace").splitlines() if "Crashed reason=" in line]
        assert not crashed, crashed[:3]
        stack.settle(worker)  # and the reports' drafts, which come back through reports.events


def _verify(home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "battrace", "verify", "--all", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _tables(home: Path) -> dict[str, list[Path]]:
    """RocksDB partition databases per table under $BATTRACE_HOME/faust (faust names them <table>-<partition>.db)."""
    dbs = sorted(p for p in (home / "faust").rglob("*.db") if (p / "CURRENT").is_file())
    out: dict[str, list[Path]] = {}
    for p in dbs:
        out.setdefault(p.name.rsplit("-", 1)[0], []).append(p)
    return out


def _keys(dbs: list[Path]) -> set[bytes]:
    keys: set[bytes] = set()
    for path in dbs:
        db = rocksdict.Rdict(str(path), access_type=rocksdict.AccessType.read_only())
        try:
            keys |= {k for k in db.keys() if k != OFFSET_KEY}  # noqa: SIM118 - iter() fails on a raw-mode Rdict
        finally:
            db.close()
    return keys


def _balance(stack: Stack, published: int, valid_ids: set[str]) -> None:
    sealed_ids = {r[0] for r in stack.sql(SEALED_PUBLISHED)}
    rejected = stack.sql(REJECTED_PUBLISHED)[0][0]
    assert sealed_ids == valid_ids, f"{len(valid_ids - sealed_ids)} valid events not sealed"
    assert published == len(sealed_ids) + rejected


def test_a_run_with_rocksdb_tables_seals_everything_and_keeps_state_on_disk(rocks: Stack) -> None:
    events = list(simulate(1500, seed=13, invalid_share=0.05))
    published = rocks.publish(events)
    _process(rocks)
    valid_ids = {ev.event_id for ev in events if ev.expected_reason is None}
    _balance(rocks, published, valid_ids)
    result = _verify(rocks.settings.home)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.returncode == 0 and report["ok"], report["failures"][:5]
    tables = _tables(rocks.settings.home)
    assert "entities" in tables, sorted(tables)
    dedup = EventIdIndex(rocks.settings.home / "faust" / "event_ids")  # the ingest stage's dedup state, on disk
    try:
        assert all(dedup.first(e) is not None for e in valid_ids)
        assert sum(dedup.position(p) for p in range(rocks.settings.partitions)) > 0  # it knows its changelog offset
    finally:
        dedup.close()
    entities = rocks.sql("SELECT DISTINCT concat(entity_type, ':', entity_id) FROM battrace.sealed FINAL")
    assert {e.encode() for (e,) in entities} <= _keys(tables["entities"])  # table keys are type:id


def test_a_restarted_worker_continues_the_chains_from_its_disk_state(rocks: Stack) -> None:
    """The story goes on with the same entities: a worker that lost its state would restart chains at seq 1."""
    before = {tuple(r[:3]) for r in rocks.sql(SEALED)}
    events = list(simulate(2500, seed=13, invalid_share=0.05))
    published = rocks.publish(events[1500:])
    _process(rocks)
    valid_ids = {ev.event_id for ev in events if ev.expected_reason is None}
    _balance(rocks, 1500 + published, valid_ids)
    after = rocks.sql(SEALED)
    assert before < {tuple(r[:3]) for r in after}
    result = _verify(rocks.settings.home)
    assert result.returncode == 0, result.stdout[-3000:]


def test_a_full_replay_with_rocksdb_tables_adds_no_row_and_changes_no_hash(rocks: Stack) -> None:
    before = rocks.sql(SEALED)
    rocks.rewind()
    _process(rocks)
    assert rocks.sql(SEALED) == before
    result = _verify(rocks.settings.home)
    assert result.returncode == 0, result.stdout[-3000:]
