"""Stored Merkle tiles on a real store: the worker stores the root of every complete 256-entry block (and above) of
its log, equal to the hash recomputed from the entries; an altered sealed row fails its own battery and not one whose
rows lie in other blocks of the same log; an altered or extra tile fails `battrace verify --all`, naming it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from embedded import Stack, run_sql, verify_all, write_sql

from battrace.settings import Settings
from battrace.stack.broker import EmbeddedBroker
from battrace.tlog import CompactTree, leaf_hash
from streams.kafka import ensure_topics
from streams.simulator import simulate

BLOCK = 256


def _verify_battery(home: Path, battery: str) -> tuple[int, dict]:
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    cmd = [sys.executable, "-m", "battrace", "verify", "--battery", battery, "--json"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert result.stdout.strip(), result.stderr
    return result.returncode, json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A one-log store of a few blocks, verified: (home, log id)."""
    home = tmp_path_factory.mktemp("tiles")
    settings = Settings(
        home=home, partitions=1, batch_seconds=0.2, batch_size=100, seal_batch_packs=1, checkpoint_every=50
    )
    with EmbeddedBroker(home / "broker") as broker:
        ensure_topics(broker.bootstrap, settings.partitions)
        stack = Stack(settings, broker.bootstrap)
        stack.publish(list(simulate(600, seed=5, invalid_share=0.0)))
        stack.process()
    code, report = verify_all(home)
    assert code == 0 and report["ok"], report["failures"][:5]
    [[log]] = run_sql(home, "SELECT DISTINCT log_id FROM battrace.log_entries")
    return home, log


def _recomputed_tiles(home: Path, log: str) -> dict[tuple[int, int], str]:
    entries = run_sql(home, f"SELECT entry FROM battrace.log_entries FINAL WHERE log_id = '{log}' ORDER BY log_index")
    completed: list[tuple[int, int, bytes]] = []
    CompactTree().extend([leaf_hash(e[0].encode()) for e in entries], completed)
    return {(height, index): h.hex() for height, index, h in completed}


def _stored_tiles(home: Path, log: str) -> dict[tuple[int, int], str]:
    rows = run_sql(
        home, f"SELECT height, tile_index, lower(hex(hash)) FROM battrace.log_tiles FINAL WHERE log_id = '{log}'"
    )
    return {(height, index): h for height, index, h in rows}


def test_every_complete_block_has_its_tile_equal_to_the_entries_hash(store: tuple[Path, str]) -> None:
    home, log = store
    recomputed = _recomputed_tiles(home, log)
    [[size]] = run_sql(home, f"SELECT count() FROM battrace.log_entries FINAL WHERE log_id = '{log}'")
    assert size >= 3 * BLOCK, size  # enough blocks for a row to lie apart from another battery's
    assert len(recomputed) == size // BLOCK
    assert _stored_tiles(home, log) == recomputed


_SEAL_REFERENCES = """
import json, sys
from battrace.compliance.seal import seal_reference
from battrace.settings import Settings
from battrace.store import logs as log_store
from battrace.store.client import connect
from battrace.tlog import inclusion_proof, leaf_hash, verify_inclusion

log, tiled = sys.argv[1], sys.argv[2] == "tiled"
client = connect(Settings())
if not tiled:
    client.command("RENAME TABLE battrace.log_tiles TO battrace.log_tiles_aside")
try:
    checkpoint = log_store.checkpoints(client, log)[-1]
    leaves = log_store.leaf_hashes(client, log, 0, checkpoint.size)
    rows = client.query(
        "SELECT entity_type, entity_id, event_id, log_index FROM battrace.sealed WHERE log_id = {l:String} "
        "ORDER BY log_index", parameters={"l": log}
    ).result_rows
    compared, wrong, uncovered = 0, [], 0
    for entity_type, entity_id, event_id, index in rows[::5]:
        got = seal_reference(client, entity_type, entity_id, event_id)
        if index >= checkpoint.size:
            uncovered += got is None
            continue
        inclusion = got.inclusions[0]
        expected = [h.hex() for h in inclusion_proof(leaves, index)]
        proof = [bytes.fromhex(h) for h in inclusion.proof]
        root = bytes.fromhex(checkpoint.root)
        ok = (
            got.checkpoints == (checkpoint.note,) and inclusion.leaf_index == index
            and inclusion.tree_size == checkpoint.size and list(inclusion.proof) == expected
            and verify_inclusion(leaf_hash(inclusion.entry.encode()), index, checkpoint.size, proof, root)
        )
        compared += 1
        if not ok:
            wrong.append(index)
    print(json.dumps({"compared": compared, "wrong": wrong, "size": checkpoint.size, "uncovered": uncovered,
                      "beyond": sum(1 for r in rows[::5] if r[3] >= checkpoint.size)}))
finally:
    if not tiled:
        client.command("RENAME TABLE battrace.log_tiles_aside TO battrace.log_tiles")
"""


@pytest.mark.parametrize("tiles", ["tiled", "without tiles"])
def test_seal_references_equal_a_full_read_of_the_log(store: tuple[Path, str], tiles: str) -> None:
    """A report's seal reference (compliance/seal.py) proves its record exactly as a proof from every leaf of the
    log would, from the stored tiles or, in a store that has none, from the leaves."""
    home, log = store
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-c", _SEAL_REFERENCES, log, tiles.split()[0]],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["size"] > 2 * BLOCK and found["compared"] > 2 * BLOCK // 5 - 5, found  # proofs across blocks
    assert found["wrong"] == [], found
    assert found["uncovered"] == found["beyond"], found  # not yet under a checkpoint: no reference


def _batteries(home: Path, log: str) -> dict[str, list[tuple[int, int]]]:
    """Battery -> (seq, log index) of its rows, in seq order."""
    rows = run_sql(
        home,
        "SELECT entity_id, seq, log_index FROM battrace.sealed FINAL "
        f"WHERE entity_type = 'battery' AND log_id = '{log}' ORDER BY entity_id, seq",
    )
    found: dict[str, list[tuple[int, int]]] = {}
    for battery, seq, index in rows:
        found.setdefault(battery, []).append((seq, index))
    return found


def test_an_altered_row_fails_its_battery_and_not_one_in_other_blocks(store: tuple[Path, str]) -> None:
    home, log = store
    [[signed]] = run_sql(home, f"SELECT max(size) FROM battrace.checkpoints FINAL WHERE log_id = '{log}'")
    edge = {signed // BLOCK} if signed % BLOCK else set()  # the partial block every proof of the log reads
    batteries = _batteries(home, log)
    # A: a battery whose first row is not its newest (its head stays as signed) and lies in a complete block.
    altered, (_, index) = next(
        (b, rows[0]) for b, rows in sorted(batteries.items()) if len(rows) >= 2 and rows[0][1] // BLOCK not in edge
    )
    block = index // BLOCK
    # B: a battery none of whose rows lies in A's block.
    other = next(
        b for b, rows in sorted(batteries.items()) if b != altered and all(i // BLOCK != block for _, i in rows)
    )
    [[original]] = run_sql(
        home, f"SELECT event_hash FROM battrace.sealed FINAL WHERE entity_id = '{altered}' AND seq = 1"
    )
    tamper = (
        "ALTER TABLE battrace.sealed_store UPDATE event_hash = unhex('{h}') "
        f"WHERE entity_type = 'battery' AND entity_id = '{altered}' AND seq = 1"
    )
    write_sql(home, tamper.format(h="ab" * 32))
    try:
        code, report = _verify_battery(home, other)
        assert code == 0 and report["ok"], report["failures"][:5]

        code, report = _verify_battery(home, altered)
        assert code == 1 and not report["ok"]
        assert {f["entity"] for f in report["failures"]} == {f"battery:{altered}"}, report["failures"][:5]
        assert any(f"inclusion proof for entry {index}" in f["problem"] for f in report["failures"]), report

        code, report = verify_all(home)
        assert code == 1 and f"battery:{altered}" in {f["entity"] for f in report["failures"]}, report["failures"]
    finally:
        write_sql(home, tamper.format(h=original))
    code, report = verify_all(home)
    assert code == 0 and report["ok"], report["failures"][:5]


def test_an_altered_or_extra_tile_fails_verify_all_naming_it(store: tuple[Path, str]) -> None:
    home, log = store
    batteries = _batteries(home, log)
    # A battery whose rows all lie apart from block 1: its proofs are hashed from the tile over block 1.
    battery = next(b for b, rows in sorted(batteries.items()) if all(i // BLOCK > 1 for _, i in rows))
    original = _stored_tiles(home, log)[(8, 1)]
    write_sql(
        home,
        f"ALTER TABLE battrace.log_tiles UPDATE hash = unhex(repeat('cd', 32)) "
        f"WHERE log_id = '{log}' AND height = 8 AND tile_index = 1",
        f"INSERT INTO battrace.log_tiles VALUES ('{log}', 8, 100000, unhex(repeat('ef', 32)))",
    )
    try:
        code, report = verify_all(home)
        assert code == 1 and not report["ok"]
        tiles = [f for f in report["failures"] if f["problem"].startswith("tile ")]
        assert tiles == [
            {"entity": log, "seq": None, "problem": "tile 8/1: not the hash of entries [256, 512)"},
            {
                "entity": log,
                "seq": None,
                "problem": "tile 8/100000: entries [25600000, 25600256) are not all held, yet a tile covers them",
            },
        ], report["failures"]
        # A wrong tile makes the proofs that use it fail: never forges one.
        code, report = _verify_battery(home, battery)
        assert code == 1 and {f["entity"] for f in report["failures"]} == {f"battery:{battery}"}, report
    finally:
        write_sql(
            home,
            f"ALTER TABLE battrace.log_tiles UPDATE hash = unhex('{original}') "
            f"WHERE log_id = '{log}' AND height = 8 AND tile_index = 1",
            f"ALTER TABLE battrace.log_tiles DELETE WHERE log_id = '{log}' AND tile_index = 100000",
        )
    code, report = verify_all(home)
    assert code == 0 and report["ok"], report["failures"][:5]
