"""Archive the beginning of a real store's logs, drop it, and verify both halves: the archive with no store, the live
store knowing what was archived. A byte flipped in an archived file, a rewritten file, a forged manifest and history
missing beyond the archive all fail, naming the file or the entity.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from embedded import Stack, run_sql, verify_all, write_sql

from battrace.keys import KeyRing
from battrace.settings import Settings
from battrace.stack.broker import EmbeddedBroker
from battrace.verify.archive_files import sha256_file
from battrace.verify.checkpoint_memory import CheckpointMemory, RememberedCheckpoint
from streams.kafka import ensure_topics
from streams.simulator import simulate

MONTH = "2025-01"  # the test dates the store's older checkpoints to this month


def battrace(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "battrace", *args], env=env, capture_output=True, text=True, timeout=300
    )


def verify_archive(home: Path, directory: Path, *args: str) -> tuple[int, dict]:
    result = battrace(home, "verify", "--archive", str(directory), "--json", *args)
    assert result.stdout.strip(), result.stderr
    return result.returncode, json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int, str]:
    """A one-log store whose checkpoints but the newest are dated MONTH, archived up to MONTH and dropped:
    (home, archive directory, archived size, log id)."""
    home = tmp_path_factory.mktemp("store")
    settings = Settings(
        home=home, partitions=1, batch_seconds=0.2, batch_size=100, seal_batch_packs=1, checkpoint_every=50
    )
    events = list(simulate(600, seed=5, invalid_share=0.0))
    log = settings.log_id(0)
    directory = home / "archive"
    with EmbeddedBroker(home / "broker") as broker:
        ensure_topics(broker.bootstrap, settings.partitions)
        stack = Stack(settings, broker.bootstrap)
        for part in (events[:200], events[200:400]):  # two runs: at least two checkpoints, whatever the batching
            stack.publish(part)
            stack.process()
        code, report = verify_all(home)  # remembered by the verifier: the drop must not look like a rollback
        assert code == 0, report["failures"][:5]
        sizes = sorted(
            r[0] for r in run_sql(home, f"SELECT size FROM battrace.checkpoints FINAL WHERE log_id = '{log}'")
        )
        assert len(sizes) >= 2, sizes
        keep = sizes[-2]
        write_sql(
            home,
            f"ALTER TABLE battrace.checkpoints UPDATE created_at = toDateTime64('{MONTH}-15 12:00:00', 3, 'UTC') "
            f"WHERE log_id = '{log}' AND size <= {keep}",
        )
        result = battrace(home, "archive", "--until", MONTH, "--out", str(directory), "--drop")
        assert result.returncode == 0, result.stderr
        for part in (events[400:500], events[500:]):  # the worker resumes the log and its chains from the archive
            stack.publish(part)
            stack.process()
    return home, directory, keep, log


def test_the_dropped_store_starts_where_the_archive_ends(archived: tuple[Path, Path, int, str]) -> None:
    home, directory, keep, log = archived
    assert run_sql(home, f"SELECT min(log_index) FROM battrace.log_entries WHERE log_id = '{log}'") == [[keep]]
    assert run_sql(home, f"SELECT count() FROM battrace.sealed WHERE log_index < {keep}") == [[0]]
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["until"] == MONTH and manifest["logs"][log]["size"] == keep
    archived_rows = {f["table"]: f["rows"] for f in manifest["files"]}
    newest = run_sql(home, f"SELECT max(size) FROM battrace.checkpoints FINAL WHERE log_id = '{log}'")[0][0]
    assert newest > archived_rows["log_entries"] + 100  # the worker went on sealing after the drop
    assert archived_rows["log_entries"] == keep
    assert pq.read_table(directory / "sealed.parquet").num_rows == archived_rows["sealed"] > 0


def test_archive_and_live_store_both_verify(archived: tuple[Path, Path, int, str]) -> None:
    home, directory, _, _ = archived
    code, report = verify_archive(home, directory)
    assert code == 0 and report["ok"] and report["checked"] > 0, report["failures"][:5]
    code, report = verify_all(home)
    assert code == 0 and report["ok"] and report["checked"] > 0, report["failures"][:5]
    assert report["archived"] > 0  # derived rows that depend on archived history are counted, not compared
    key = KeyRing(Settings(home=home)).signers(generate=False)[0].verifier_key()
    offline = home / "offline"  # a home with no store, no keys: only the pinned key
    code, report = verify_archive(offline, directory, "--key", key)
    assert code == 0 and report["ok"], report["failures"][:5]


def bundle_verifies(home: Path, bundle: Path) -> None:
    """The bundle verifies offline, in a home with no store and no keys, against the pinned key only."""
    key = KeyRing(Settings(home=home)).signers(generate=False)[0].verifier_key()
    checked = battrace(home / "offline", "verify", "--bundle", str(bundle), "--key", key, "--json")
    assert checked.returncode == 0 and json.loads(checked.stdout)["verified"], checked.stdout + checked.stderr


def test_a_battery_bundle_from_the_archive_and_the_live_store_verifies(archived: tuple[Path, Path, int, str]) -> None:
    home, directory, _, _ = archived
    sealed = pq.read_table(directory / "sealed.parquet").to_pylist()
    live = dict(
        run_sql(home, "SELECT entity_id, count() FROM battrace.sealed WHERE entity_type = 'battery' GROUP BY 1")
    )
    # a battery whose chain began before the archive's end and went on after it
    battery = min(r["entity_id"] for r in sealed if r["entity_type"] == "battery" and r["entity_id"] in live)
    in_archive = sum(1 for r in sealed if r["entity_id"] == battery)
    out = home / "bundle.json"
    result = battrace(home, "export", "--archive", str(directory), "--battery", battery, "--out", str(out))
    assert result.returncode == 0, result.stderr
    bundle = json.loads(out.read_text())
    assert [r["seq"] for r in bundle["records"]] == list(range(1, in_archive + live[battery] + 1))
    bundle_verifies(home, out)
    only = home / "archived-bundle.json"
    result = battrace(
        home, "export", "--archive", str(directory), "--archives-only", "--battery", battery, "--out", str(only)
    )
    assert result.returncode == 0, result.stderr
    assert [r["seq"] for r in json.loads(only.read_text())["records"]] == list(range(1, in_archive + 1))
    bundle_verifies(home, only)
    from_store = battrace(home, "export", "--battery", battery, "--out", str(home / "live.json"))
    assert from_store.returncode == 1 and "archived" in from_store.stderr, from_store.stderr
    assert f"--battery {battery} --archive DIR" in from_store.stderr, from_store.stderr


def test_a_chain_begun_after_the_archive_exports_from_the_live_store(archived: tuple[Path, Path, int, str]) -> None:
    home, _, keep, _ = archived
    [[battery]] = run_sql(
        home,
        "SELECT entity_id FROM battrace.sealed FINAL WHERE entity_type = 'battery' GROUP BY entity_id "
        f"HAVING min(seq) = 1 AND min(log_index) >= {keep} ORDER BY entity_id LIMIT 1",
    )
    out = home / "live-bundle.json"
    result = battrace(home, "export", "--battery", battery, "--out", str(out))
    assert result.returncode == 0, result.stderr
    key = KeyRing(Settings(home=home)).signers(generate=False)[0].verifier_key()
    checked = battrace(home / "offline", "verify", "--bundle", str(out), "--key", key, "--json")
    assert checked.returncode == 0 and json.loads(checked.stdout)["verified"], checked.stdout + checked.stderr


def test_a_flipped_byte_in_an_archived_file_fails_naming_the_file(
    archived: tuple[Path, Path, int, str], tmp_path: Path
) -> None:
    home, directory, _, _ = archived
    copy = tmp_path / "archive"
    shutil.copytree(directory, copy)
    path = copy / "log_entries.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))
    code, report = verify_archive(home, copy)
    assert code == 1 and not report["ok"]
    assert any(f["entity"] == "log_entries.parquet" for f in report["failures"]), report["failures"]


def test_a_rewritten_file_fails_naming_the_file_and_the_entity(
    archived: tuple[Path, Path, int, str], tmp_path: Path
) -> None:
    home, directory, _, _ = archived
    copy = tmp_path / "archive"
    shutil.copytree(directory, copy)
    table = pq.read_table(copy / "sealed.parquet")
    rows = table.to_pylist()
    victim = rows[len(rows) // 2]
    victim["event_hash"] = "00" * 32
    pq.write_table(table.from_pylist(rows, schema=table.schema), copy / "sealed.parquet")
    code, report = verify_archive(home, copy)
    assert code == 1
    entities = {f["entity"] for f in report["failures"]}
    assert "sealed.parquet" in entities, report["failures"]
    assert f"{victim['entity_type']}:{victim['entity_id']}" in entities, report["failures"]


def test_a_forged_manifest_fails(archived: tuple[Path, Path, int, str], tmp_path: Path) -> None:
    home, directory, _, _ = archived
    copy = tmp_path / "archive"
    shutil.copytree(directory, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"][0]["rows"] += 1
    (copy / "manifest.json").write_text(json.dumps(manifest))
    code, report = verify_archive(home, copy)
    assert code == 1 and [f["entity"] for f in report["failures"]] == ["manifest.json"], report["failures"]
    assert "changed after it was signed" in report["failures"][0]["problem"]
    missing = battrace(home, "verify", "--archive", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no manifest.json" in missing.stderr and "Traceback" not in missing.stderr


def test_history_missing_beyond_the_archive_still_fails(archived: tuple[Path, Path, int, str]) -> None:
    """A live row deleted right after the archive is missing history, not archived history; put back, all verifies."""
    home, _, keep, log = archived
    columns = "entity_type, entity_id, seq, event_id, event_hash, prev_hash, chain_hash, log_id, log_index"
    [row] = run_sql(
        home,
        f"SELECT {columns}, toUnixTimestamp64Milli(sealed_at) FROM battrace.sealed FINAL WHERE log_id = '{log}' "
        f"AND seq > 1 AND log_index >= {keep} ORDER BY log_index LIMIT 1",
    )
    entity_type, entity_id, seq = row[:3]
    where = f"entity_type = '{entity_type}' AND entity_id = '{entity_id}' AND seq = {seq}"
    write_sql(home, f"ALTER TABLE battrace.sealed_store DELETE WHERE {where}")
    code, report = verify_all(home)
    assert code == 1
    assert f"{entity_type}:{entity_id}" in {f["entity"] for f in report["failures"]}, report["failures"][:5]
    kept = dict(zip(columns.split(", "), row[:-1], strict=True))
    values = ", ".join(
        f"unhex('{v}')" if name.endswith("_hash") else json.dumps(v).replace('"', "'") for name, v in kept.items()
    )
    write_sql(
        home,
        f"INSERT INTO battrace.sealed_store ({columns}, sealed_at) VALUES ({values}, "
        f"fromUnixTimestamp64Milli({row[-1]}))",
    )
    code, report = verify_all(home)
    assert code == 0, report["failures"][:5]


def test_a_second_archive_goes_on_from_the_first(archived: tuple[Path, Path, int, str]) -> None:
    """Run last: it archives and drops more of the store."""
    home, first, keep, log = archived
    sizes = sorted(r[0] for r in run_sql(home, f"SELECT size FROM battrace.checkpoints FINAL WHERE log_id = '{log}'"))
    later = sizes[-2]
    assert later > keep, sizes
    write_sql(
        home,
        "ALTER TABLE battrace.checkpoints UPDATE created_at = toDateTime64('2025-02-15 12:00:00', 3, 'UTC') "
        f"WHERE log_id = '{log}' AND size > {keep} AND size <= {later}",
    )
    # This verifier last accepted a checkpoint between the two cuts: the second drop takes its history away.
    [(between, root, note)] = run_sql(
        home,
        f"SELECT size, root, note FROM battrace.checkpoints FINAL WHERE log_id = '{log}' AND size > {keep} "
        f"AND size < {later} ORDER BY size LIMIT 1",
    )
    memory = CheckpointMemory.in_home(home)
    memory.remember(RememberedCheckpoint(log, between, bytes.fromhex(root), note))
    second = home / "archive-2"
    result = battrace(home, "archive", "--until", "2025-02", "--out", str(second), "--drop")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((second / "manifest.json").read_text())
    assert manifest["logs"][log]["start"]["size"] == keep and manifest["logs"][log]["size"] == later
    assert manifest["logs"][log]["start"]["manifest_sha256"] == sha256_file(first / "manifest.json")
    assert run_sql(home, f"SELECT min(log_index) FROM battrace.log_entries WHERE log_id = '{log}'") == [[later]]
    code, report = verify_all(home)  # the live store alone cannot prove the remembered checkpoint
    assert code == 1 and [f["entity"] for f in report["failures"]] == [log], report["failures"][:5]
    assert "battrace verify --archive DIR" in report["failures"][0]["problem"], report["failures"][0]
    for directory in (first, second):
        code, report = verify_archive(home, directory)
        assert code == 0 and report["ok"], report["failures"][:5]
    remembered = memory.recall(log)
    assert remembered is not None and remembered.size == later  # moved on by the archive that holds it
    code, report = verify_all(home)
    assert code == 0 and report["ok"], report["failures"][:5]


def _spanning_battery(home: Path, first: Path, second: Path) -> tuple[str, int]:
    """A battery with records in both archives (and, where one exists, in the live store), and its record count."""
    counts: dict[str, list[int]] = {}
    for position, directory in enumerate((first, second)):
        for r in pq.read_table(directory / "sealed.parquet").to_pylist():
            if r["entity_type"] == "battery":
                counts.setdefault(r["entity_id"], [0, 0, 0])[position] += 1
    live = dict(
        run_sql(home, "SELECT entity_id, count() FROM battrace.sealed WHERE entity_type = 'battery' GROUP BY 1")
    )
    for battery, n in live.items():
        if battery in counts:
            counts[battery][2] = n
    spanning = sorted((-(c[2] > 0), b) for b, c in counts.items() if c[0] and c[1])
    assert spanning, "no battery has records in both archives"
    battery = spanning[0][1]
    return battery, sum(counts[battery])


def test_a_battery_spanning_two_archives_exports_whole(archived: tuple[Path, Path, int, str]) -> None:
    """After the second archive: both archives (in either order) and the live store give the whole chain."""
    home, first, _, _ = archived
    second = home / "archive-2"
    battery, total = _spanning_battery(home, first, second)
    for order in ((first, second), (second, first)):
        out = home / "spanning.json"
        args = [a for d in order for a in ("--archive", str(d))]
        result = battrace(home, "export", *args, "--battery", battery, "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert [r["seq"] for r in json.loads(out.read_text())["records"]] == list(range(1, total + 1))
        bundle_verifies(home, out)


def test_archives_with_a_gap_or_a_tampered_file_are_refused(
    archived: tuple[Path, Path, int, str], tmp_path: Path
) -> None:
    home, first, keep, _ = archived
    second = home / "archive-2"
    battery, _ = _spanning_battery(home, first, second)
    out = tmp_path / "bundle.json"
    gap = battrace(home, "export", "--archive", str(second), "--battery", battery, "--out", str(out))
    assert gap.returncode == 1 and "Traceback" not in gap.stderr, gap.stderr
    assert f"at entry {keep}" in gap.stderr and sha256_file(first / "manifest.json") in gap.stderr, gap.stderr
    copy = tmp_path / "archive"
    shutil.copytree(first, copy)
    path = copy / "sealed.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))
    args = ("--archive", str(copy), "--archive", str(second), "--battery", battery, "--out", str(out))
    tampered = battrace(home, "export", *args)
    assert tampered.returncode == 1 and "Traceback" not in tampered.stderr, tampered.stderr
    assert str(copy) in tampered.stderr and "sealed.parquet" in tampered.stderr, tampered.stderr
    assert not out.exists()


_PROVE_AFTER_THE_CUT = """
import json, sys
from battrace.compliance.seal import seal_reference
from battrace.settings import Settings
from battrace.store import logs as log_store
from battrace.store.client import connect
from battrace.store.log_trees import held_tree
from battrace.tlog import leaf_hash, verify_consistency, verify_inclusion
log, cut = sys.argv[1], int(sys.argv[2])
client = connect(Settings())
try:
    entity_type, entity_id, event_id = client.query(
        "SELECT entity_type, entity_id, event_id FROM battrace.sealed FINAL WHERE log_id = {l:String} "
        "AND log_index >= {c:UInt64} ORDER BY log_index LIMIT 1", parameters={"l": log, "c": cut}).result_rows[0]
    seal = seal_reference(client, entity_type, entity_id, event_id)
    inclusion = seal.inclusions[0]
    signed = log_store.checkpoints(client, log)
    newest = signed[-1]
    included = verify_inclusion(leaf_hash(inclusion.entry.encode()), inclusion.leaf_index, inclusion.tree_size,
                                [bytes.fromhex(h) for h in inclusion.proof], bytes.fromhex(newest.root))
    older = next(c for c in signed if c.size >= cut)
    tree = held_tree(client, log, newest.size)
    consistent = verify_consistency(older.size, newest.size, tree.consistency_proof(older.size, newest.size),
                                    bytes.fromhex(older.root), bytes.fromhex(newest.root))
    print(json.dumps({"index": inclusion.leaf_index, "included": included, "consistent": consistent,
                      "from": older.size, "to": newest.size}))
finally:
    client.close()
"""


def test_reports_and_consistency_proofs_are_proven_from_the_cut_on(archived: tuple[Path, Path, int, str]) -> None:
    """What the worker puts in a report (a seal reference) and what the API proves (consistency between two
    checkpoints) come from the archive mark's compact range and the held entries, and verify like the whole log's."""
    home, _, keep, log = archived
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-c", _PROVE_AFTER_THE_CUT, log, str(keep)], env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    proven = json.loads(result.stdout.strip().splitlines()[-1])
    assert proven["index"] >= keep and proven["included"], proven
    assert proven["from"] >= keep and proven["to"] > proven["from"] and proven["consistent"], proven
