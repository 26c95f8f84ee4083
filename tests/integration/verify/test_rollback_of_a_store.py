"""A store rolled back behind what `battrace verify --all` accepted fails the next `verify --all`, naming the log.

The rollback deletes the newest sealed rows, log entries and checkpoints of the log (and the events left with no
sealed row): what remains of the log is a self-consistent older log, which the log audit accepts once the
verifier's memory is gone. (Rows derived from the deleted events, such as projections, are left as they were:
the derived-rows check may flag those, which is not the log's business.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from embedded import Stack, run_sql, verify_all, write_sql

from battrace.keys import KeyRing
from battrace.settings import Settings
from battrace.stack.broker import EmbeddedBroker
from battrace.verify.checkpoint_memory import CheckpointMemory
from streams.kafka import ensure_topics
from streams.simulator import simulate


def test_a_store_rolled_back_after_verify_fails_the_next_verify_naming_the_log(tmp_path: Path) -> None:
    # one partition, small batches and frequent checkpoints: one log with several checkpoints to roll back to
    settings = Settings(
        home=tmp_path, partitions=1, batch_seconds=0.2, batch_size=100, seal_batch_packs=1, checkpoint_every=50
    )
    with EmbeddedBroker(tmp_path / "broker") as broker:
        ensure_topics(broker.bootstrap, settings.partitions)
        stack = Stack(settings, broker.bootstrap)
        events = list(simulate(400, seed=5, invalid_share=0.0))
        for part in (events[:200], events[200:]):  # two runs: at least two checkpoints, whatever the batching
            stack.publish(part)
            stack.process()
    log = settings.log_id(0)
    code, report = verify_all(tmp_path)
    assert code == 0 and report["ok"], report["failures"][:5]
    signers = KeyRing(settings).signers(generate=False)
    # the JSON names the key that signed each log's latest checkpoint
    assert report["logs"][log]["signed_by"] == [s.key_id.hex() for s in signers], report["logs"]
    sizes = [r[0] for r in run_sql(tmp_path, f"SELECT size FROM battrace.checkpoints FINAL WHERE log_id = '{log}'")]
    assert len(sizes) >= 2, sizes
    newest, keep = sorted(sizes)[-1], sorted(sizes)[-2]
    write_sql(
        tmp_path,
        f"ALTER TABLE battrace.sealed_store DELETE WHERE log_id = '{log}' AND log_index >= {keep}",
        f"ALTER TABLE battrace.log_store DELETE WHERE log_id = '{log}' AND log_index >= {keep}",
        f"ALTER TABLE battrace.checkpoints DELETE WHERE log_id = '{log}' AND size > {keep}",
        f"ALTER TABLE battrace.log_tiles DELETE WHERE log_id = '{log}' AND (tile_index + 1) * pow(2, height) > {keep}",
        "ALTER TABLE battrace.event_store DELETE WHERE event_id NOT IN (SELECT event_id FROM battrace.sealed)",
    )
    code, report = verify_all(tmp_path)
    assert code == 1 and not report["ok"]
    rolled_back = [f for f in report["failures"] if f["entity"] == log]
    assert len(rolled_back) == 1, report["failures"][:8]
    [failure] = rolled_back
    assert failure["entity"] == log and "rolled back" in failure["problem"], failure
    assert f"size {keep}" in failure["problem"] and f"accepted size {newest} root" in failure["problem"]
    code, again = verify_all(tmp_path)  # still failing: the rolled-back checkpoint was not remembered
    assert code == 1 and [f for f in again["failures"] if f["entity"] == log] == rolled_back
    # the log left nothing inside the store to betray the rollback: only the verifier's memory did
    shutil.rmtree(CheckpointMemory.in_home(tmp_path).directory)
    _, report = verify_all(tmp_path)
    assert not [f for f in report["failures"] if f["entity"] == log], report["failures"][:5]
    assert report["logs"][log]["size"] == keep
