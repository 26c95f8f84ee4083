"""Completeness on a real store: checkpoints commit to every entity's head, so a bundle exported from the store
without its newest record fails `battrace verify --bundle` naming the entity, and a checkpoint signed with the
operator's key over heads the stored entries do not have fails `battrace verify --all` naming the log and size."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from embedded import Stack, run_sql, verify_all, write_sql

from battrace.keys import KeyRing
from battrace.settings import Settings
from battrace.stack.broker import EmbeddedBroker
from battrace.tlog import Checkpoint, sign_checkpoint
from schemas.heads import heads_line, parse_heads
from streams.kafka import ensure_topics
from streams.simulator import simulate


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    cmd = [sys.executable, "-m", "battrace", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def test_a_bundle_short_of_its_newest_record_and_a_checkpoint_over_forged_heads_are_caught(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path, partitions=2, batch_seconds=0.2, batch_size=100, seal_batch_packs=1, checkpoint_every=50
    )
    with EmbeddedBroker(tmp_path / "broker") as broker:
        ensure_topics(broker.bootstrap, settings.partitions)
        stack = Stack(settings, broker.bootstrap)
        events = list(simulate(400, seed=11, invalid_share=0.0))
        for part in (events[:200], events[200:]):  # two runs: at least two checkpoints, whatever the batching
            stack.publish(part)
            stack.process()
    code, report = verify_all(tmp_path)  # every stored checkpoint's heads line recomputes from the entries
    assert code == 0 and report["ok"], report["failures"][:5]

    [(battery, records)] = run_sql(
        tmp_path,
        "SELECT entity_id, count() AS n FROM battrace.sealed FINAL WHERE entity_type = 'battery' "
        "GROUP BY entity_id ORDER BY n DESC, entity_id LIMIT 1",
    )
    assert records >= 2
    signer = KeyRing(settings).signers(generate=False)[0]
    path = tmp_path / "bundle.json"
    exported = _cli(tmp_path, "export", "--battery", battery, "--out", str(path))
    assert exported.returncode == 0, exported.stderr
    bundle = json.loads(path.read_text())
    assert bundle["head"]["leaf"] == {
        "entity": f"battery:{battery}",
        "length": records,
        "chain_hash": bundle["records"][-1]["chain_hash"],
    }
    ok = _cli(tmp_path, "verify", "--bundle", str(path), "--key", signer.verifier_key())
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # the bundle's events are the events view's (export reads them from the table under it, the entity's alone)
    viewed = run_sql(
        tmp_path,
        "SELECT event_id, kind, toUnixTimestamp64Milli(event_time), base64Encode(canonical) FROM battrace.events "
        f"WHERE event_id IN (SELECT event_id FROM battrace.sealed WHERE entity_id = '{battery}') ORDER BY event_id",
    )
    exported_events = sorted(
        [r["event_id"], r["event"]["kind"], r["event"]["event_time_ms"], r["event"]["canonical"]]
        for r in bundle["records"]
    )
    assert [[e, k, int(t), c] for e, k, t, c in viewed] == exported_events

    bundle["records"].pop()  # the newest record left out: every remaining one still verifies
    path.write_text(json.dumps(bundle))
    short = _cli(tmp_path, "verify", "--bundle", str(path), "--key", signer.verifier_key(), "--json")
    assert short.returncode == 1, short.stdout + short.stderr
    [failure] = json.loads(short.stdout)["failures"]
    assert failure["entity"] == f"battery:{battery}", failure
    assert "does not prove it is complete" in failure["problem"], failure
    assert f"chain has {records} records" in failure["problem"] and f"holds {records - 1}" in failure["problem"]

    # A checkpoint re-signed with the operator's own key over the right log root and heads the entries do not have.
    log = bundle["records"][0]["log_id"]
    sizes = sorted(
        r[0] for r in run_sql(tmp_path, f"SELECT size FROM battrace.checkpoints FINAL WHERE log_id = '{log}'")
    )
    assert len(sizes) >= 2, sizes
    forged_size = sizes[-2]
    [(note,)] = run_sql(
        tmp_path, f"SELECT note FROM battrace.checkpoints FINAL WHERE log_id = '{log}' AND size = {forged_size}"
    )
    cp = Checkpoint.parse(note.split("\n\n")[0] + "\n")
    count, _ = parse_heads(cp.extensions)
    forged = sign_checkpoint(Checkpoint(cp.origin, cp.size, cp.root, (heads_line(count, bytes(32)),)), signer)
    assert base64.b64encode(bytes(32)).decode() in forged
    write_sql(
        tmp_path,
        "INSERT INTO battrace.checkpoints SELECT log_id, size, root, "
        f"'{forged}', key_id, compact_range, created_at FROM battrace.checkpoints FINAL "
        f"WHERE log_id = '{log}' AND size = {forged_size}",
    )
    code, report = verify_all(tmp_path)
    assert code == 1 and not report["ok"]
    assert [f for f in report["failures"] if f["entity"] == log] == [
        {
            "entity": log,
            "seq": None,
            "problem": f"checkpoint {forged_size}: its heads line does not match the heads of the stored entries",
        }
    ], report["failures"][:5]
