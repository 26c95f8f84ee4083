"""End to end on the real broker and the real ClickHouse engine: counts, reasons, replay, tampering."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from embedded import assert_sealed_once_and_verified, embedded_stack, write_sql
from published import NOT_STEPS, PUBLISHED

from battrace.stack.worker import (
    checkpointed_sizes,
)
from streams.producer import EventProducer
from streams.simulator import simulate

SNAPSHOT = {
    "sealed": "SELECT entity_type, entity_id, seq, event_id, event_hash, prev_hash, chain_hash, log_id, log_index "
    "FROM battrace.sealed FINAL ORDER BY entity_type, entity_id, seq",
    "events": "SELECT event_id, event_hash FROM battrace.events FINAL ORDER BY event_id",
    "carbon": "SELECT line_id, kg_co2e FROM battrace.carbon FINAL ORDER BY entity_type, entity_id, line_id",
    "rejects": "SELECT source_topic, source_partition, source_offset, reason FROM battrace.rejects FINAL "
    "ORDER BY source_topic, source_partition, source_offset",
    "log_entries": "SELECT log_id, log_index, entry FROM battrace.log_entries FINAL ORDER BY log_id, log_index",
    "checkpoints": "SELECT log_id, size, root FROM battrace.checkpoints FINAL ORDER BY log_id, size",
}


def snapshot(stack) -> dict[str, list]:
    return {name: stack.sql(sql) for name, sql in SNAPSHOT.items()}


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory):
    """One simulated run shared by the tests of this module (each tampering test works on a copy)."""
    with embedded_stack(tmp_path_factory.mktemp("pipeline")) as stack:
        events = list(simulate(3000, seed=11, invalid_share=0.05))
        published = stack.publish(events)
        stack.process(reports_of=events)
        yield stack, events, published


@pytest.fixture
def tampered_home(tmp_path: Path) -> Path:
    """A small processed run of its own, so each tampering test starts from intact data (a chDB store
    cannot simply be copied: its tables are symlinks into the original store)."""
    with embedded_stack(tmp_path) as stack:
        stack.publish(list(simulate(400, seed=5)))
        stack.process()
    return tmp_path


def test_published_equals_sealed_plus_rejected_with_every_reason(processed) -> None:
    stack, events, published = processed
    expected_reasons = Counter(ev.expected_reason for ev in events if ev.expected_reason)
    valid_ids = {ev.event_id for ev in events if ev.expected_reason is None}
    sealed_ids = {r[0] for r in stack.sql(f"SELECT DISTINCT event_id FROM battrace.sealed FINAL WHERE {PUBLISHED}")}
    reasons = dict(stack.sql(f"SELECT reason, count() FROM battrace.rejects FINAL WHERE {NOT_STEPS} GROUP BY reason"))
    rejected = sum(reasons.values())
    result = _verify_cli(stack.settings.home, "--all", "--json")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert published == len(events) == 3000
    assert sealed_ids == valid_ids
    assert published == len(sealed_ids) + rejected
    twice = "SELECT entity_type, entity_id, event_id FROM battrace.sealed FINAL GROUP BY ALL HAVING count() > 1"
    assert stack.sql(f"SELECT count() FROM ({twice})") == [[0]]  # no chain holds an event twice
    assert reasons == dict(expected_reasons)
    assert {"bad_framing", "unknown_schema", "undecodable", "invalid_battery_code", "out_of_range", "duplicate"} <= set(
        reasons
    )
    assert result.returncode == 0 and report["ok"], report["failures"][:5]
    assert report["checked"] > 100


def test_full_replay_adds_no_rows_and_changes_no_hash(processed) -> None:
    stack, _, _ = processed
    before = snapshot(stack)
    stack.rewind()
    stack.process()
    after = snapshot(stack)
    write_sql(stack.settings.home, "OPTIMIZE TABLE battrace.sealed_store FINAL")
    raw_sealed = stack.sql("SELECT count() FROM battrace.sealed_store")[0][0]
    # The replay re-sent every event through trace.chain, so each log grew by one `redelivered` entry per
    # re-sent item; what was logged and signed before is unchanged (append-only), and it all still verifies.
    log_before, log_after = before.pop("log_entries"), after.pop("log_entries")
    cps_before, cps_after = before.pop("checkpoints"), after.pop("checkpoints")
    assert after == before
    assert raw_sealed == len(before["sealed"])
    assert set(map(tuple, log_before)) <= set(map(tuple, log_after))
    added = set(map(tuple, log_after)) - set(map(tuple, log_before))
    assert added and {json.loads(entry)["kind"] for _, _, entry in added} == {"redelivered"}
    assert set(map(tuple, cps_before)) < set(map(tuple, cps_after))
    assert _verify_cli(stack.settings.home, "--all").returncode == 0


def _verify_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "battrace", "verify", *args], env=env, capture_output=True, text=True, timeout=120
    )


FORGED_EXTENSION = (
    "INSERT INTO battrace.sealed_store SELECT entity_type, entity_id, seq + 1, event_id, event_hash, chain_hash, "
    "SHA256(concat(chain_hash, event_hash, unhex(leftPad(hex(toUInt64(seq + 1)), 16, '0')))), "
    "log_id, log_index, sealed_at FROM battrace.sealed_store FINAL WHERE (entity_type, entity_id, seq) IN "
    "(SELECT entity_type, entity_id, max(seq) FROM battrace.sealed FINAL WHERE entity_type = 'battery' "
    "GROUP BY entity_type, entity_id ORDER BY entity_id LIMIT 1)"
)


@pytest.mark.parametrize(
    "tamper",
    [
        "ALTER TABLE battrace.sealed_store UPDATE chain_hash = SHA256('forged') "
        "WHERE entity_type = 'battery' AND seq = 1 "
        "AND entity_id = (SELECT min(entity_id) FROM battrace.sealed WHERE entity_type = 'battery')",
        "ALTER TABLE battrace.sealed_store DELETE WHERE (entity_type, entity_id, seq) IN "
        "(SELECT entity_type, entity_id, max(seq) FROM battrace.sealed GROUP BY entity_type, entity_id "
        "ORDER BY entity_id LIMIT 1)",
        "ALTER TABLE battrace.sealed_store DELETE WHERE (entity_type, entity_id, seq) IN "
        "(SELECT entity_type, entity_id, 1 FROM battrace.sealed WHERE seq = 2 ORDER BY entity_id LIMIT 1)",
        "ALTER TABLE battrace.event_store UPDATE canonical = concat(canonical, 'x') WHERE event_id IN "
        "(SELECT event_id FROM battrace.events ORDER BY event_id LIMIT 1)",
        # swap seq 1 and 2 of one chain (ReplacingMergeTree: the re-inserted rows win)
        "INSERT INTO battrace.sealed_store SELECT entity_type, entity_id, 3 - seq, event_id, event_hash, prev_hash, "
        "chain_hash, log_id, log_index, sealed_at FROM battrace.sealed_store FINAL WHERE (entity_type, entity_id) IN "
        "(SELECT entity_type, entity_id FROM battrace.sealed WHERE seq = 2 ORDER BY entity_id LIMIT 1) AND seq <= 2",
        # a forged extension whose chain arithmetic is right: only the signed log can tell
        FORGED_EXTENSION,
        # the entry stored in place of the one rendered from its sealed row (the view computes its leaf hash)
        "INSERT INTO battrace.log_store SELECT log_id, log_index, kind, replace(entry, '\"seq\":1', '\"seq\":9') "
        "FROM battrace.log_entries WHERE kind = 'sealed' AND log_index = 0",
        "ALTER TABLE battrace.checkpoints UPDATE note = replace(note, '\n\n', '\nextension\n\n') WHERE 1",
    ],
    ids=[
        "altered-chain-hash",
        "deleted-last-row",
        "deleted-first-row",
        "altered-event-bytes",
        "reordered-rows",
        "inserted-row",
        "altered-log-entry",
        "forged-checkpoint",
    ],
)
def test_tampering_makes_verify_fail(tampered_home: Path, tamper: str) -> None:
    assert _verify_cli(tampered_home, "--all").returncode == 0
    write_sql(tampered_home, tamper)
    result = _verify_cli(tampered_home, "--all", "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ok"] is False and report["failures"]
    if tamper == FORGED_EXTENSION:  # the chain itself recomputes: it is the log (entries, tiles, checkpoints) that
        log_words = ("entry", "entries", "checkpoint", "tile ")  # must catch it
        assert all(any(w in f["problem"] for w in log_words) for f in report["failures"]), report


def test_worker_killed_twice_mid_stream_loses_and_duplicates_nothing(stack) -> None:
    """SIGKILL (no commit, no flush) a third of the way, restart, SIGKILL again as soon as the restarted worker
    commits anything, restart: every valid event sealed once, every chain verifies.

    The first kill lands about a second into the run, usually before the first commit: the restarted worker then
    starts from offset 0, which is where faust used to drop fetched packs (processors/runtime/faust_patches.py). The
    second lands while the restarted worker replays what the first left unstored: a log state stored then must
    still know the replayed messages it has not reached (processors/sealing.py)."""
    events = list(simulate(12000, seed=23, invalid_share=0.03))
    published = stack.publish(events)
    _run_and_kill(stack, lambda done, total: done > total // 3)
    at_start: list[int] = []

    def committed_anything(done: int, total: int) -> bool:
        at_start.append(done)
        return done > at_start[0]

    _run_and_kill(stack, committed_anything)
    stack.process()
    assert_sealed_once_and_verified(stack, events, published)


def _run_and_kill(stack, when: Callable[[int, int], bool]) -> None:
    """Run a worker until ``when(committed, total)`` holds, then SIGKILL it."""

    def kill_when(done: int, total: int) -> None:
        if when(done, total):
            raise _Killed

    with stack.worker() as worker:
        with pytest.raises(_Killed):
            stack.caught_up(worker, on_progress=kill_when)
        worker.kill()


def test_a_restarted_worker_signs_the_tail_its_crashed_predecessor_sealed_with_no_new_events(stack) -> None:
    """The first worker seals everything and dies before a checkpoint is due; nothing is left to seal, so no batch
    resumes a log in the next worker, which must still sign every log's tail (reports wait for it)."""
    events = list(simulate(800, seed=41, invalid_share=0.0))
    stack.publish(events)
    restart = stack.settings
    stack.settings = restart.model_copy(
        update={"checkpoint_every": 1_000_000, "checkpoint_seconds": 3600.0, "report_checkpoint_wait_s": 0.1}
    )
    with stack.worker() as worker:
        stack.caught_up(worker)
        worker.kill()
    assert checkpointed_sizes(stack.bootstrap) == {}  # sealed, committed, none of it signed
    stack.settings = restart
    with stack.worker() as worker:
        sizes = stack.checkpointed(worker, timeout_s=60)
    assert set(sizes) == {stack.settings.log_id(p) for p in range(stack.settings.partitions)}


class _Killed(Exception):
    pass


def test_batches_stored_in_groups_seal_every_event_once_on_unbroken_chains(tmp_path: Path) -> None:
    """Small packs (100-event ingest batches) sealed one per batch: a store (about ten inserts) takes far longer
    than sealing a pack, so the batches
    sealed meanwhile are stored in groups (processors/group_commit.py), and each batch reads entity states and
    logs that batches before it left unstored. A batch that read an older state would fork a chain: a seq twice,
    or a link that does not verify."""
    with embedded_stack(tmp_path) as stack:
        stack.settings = stack.settings.model_copy(
            update={"batch_size": 100, "seal_batch_packs": 1, "seal_group_batches": 4}
        )
        events = list(simulate(2500, seed=31, invalid_share=0.03))
        published = stack.publish(events)
        stack.process()
        assert_sealed_once_and_verified(stack, events, published)
        # without FINAL, so rows a merge would collapse still count: one chain hash per seq, one seq per event
        links, hashes, items = stack.sql(
            "SELECT uniqExact(entity_type, entity_id, seq), uniqExact(entity_type, entity_id, seq, chain_hash), "
            "uniqExact(entity_type, entity_id, event_id) FROM battrace.sealed"
        )[0]
        assert links == hashes == items


def test_an_exported_bundle_verifies_with_no_services_and_fails_when_altered(processed, tmp_path: Path) -> None:
    stack, _, _ = processed
    home = stack.settings.home
    battery = stack.sql(
        "SELECT entity_id FROM battrace.sealed FINAL WHERE entity_type = 'battery' "
        "GROUP BY entity_id ORDER BY count() DESC, entity_id LIMIT 1"
    )[0][0]
    bundle_path = tmp_path / "bundle.json"
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    run = [sys.executable, "-m", "battrace"]
    exported = subprocess.run([*run, "export", "--battery", battery, "--out", str(bundle_path)], env=env, text=True)
    assert exported.returncode == 0
    key = subprocess.run([*run, "keys", "export"], env=env, capture_output=True, text=True).stdout.strip()
    offline = {**os.environ, "BATTRACE_HOME": str(tmp_path / "no-services")}  # no store, no broker, no keys
    verify = [*run, "verify", "--bundle", str(bundle_path), "--key", key, "--json"]
    result = subprocess.run(verify, env=offline, capture_output=True, text=True)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"] and report["checked"] >= 2, result.stdout + result.stderr
    bundle = json.loads(bundle_path.read_text())
    bundle["records"][-1]["event_hash"] = bundle["records"][0]["event_hash"]
    bundle_path.write_text(json.dumps(bundle))
    assert subprocess.run(verify, env=offline, capture_output=True, text=True).returncode == 1


def test_every_delivered_consignment_gets_a_draft_signed_by_qa_and_not_certified_before_review(
    processed, tmp_path: Path
) -> None:
    stack, _, _ = processed
    delivered = {
        r[0] for r in stack.sql("SELECT DISTINCT shipment_id FROM battrace.events FINAL WHERE kind = 'Delivered'")
    }
    reports = {r[0]: r[1] for r in stack.sql("SELECT shipment_id, signed_by FROM battrace.reports FINAL")}
    assert delivered and set(reports) == delivered
    assert all([s.split(":")[0] for s in signed] == ["manufacturer_qa"] for signed in reports.values())
    drafts = stack.sql(
        "SELECT count() FROM battrace.sealed FINAL WHERE event_id IN (SELECT event_id FROM battrace.reports)"
    )
    assert drafts == [[len(delivered)]]  # each draft is sealed into its consignment's chain
    env = {**os.environ, "BATTRACE_HOME": str(stack.settings.home)}
    shipment = sorted(delivered)[-1]
    out = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "battrace", "report", shipment, "--out", str(out), "--json"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path)
    summary = json.loads(result.stdout)
    assert result.returncode == 1 and not summary["certified"], result.stdout + result.stderr
    assert summary["verified_roles"] == ["manufacturer_qa"]
    assert "no verified signature for role third_party_verifier" in summary["problems"]
    assert out.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    doc = json.loads(out.read_text())
    assert doc["report"]["shipment_id"] == shipment and len(doc["signatures"]) == 1


def test_the_stream_flags_the_simulated_lifecycle_and_mass_balance_violations(processed) -> None:
    stack, events, _ = processed
    expected = Counter(f for ev in events if ev.expected_reason is None for f in ev.expected_flags)
    stream_codes = {"already_installed", "recycled_without_collection", "event_after_destruction"}
    flagged = Counter(
        {
            r[0]: r[1]
            for r in stack.sql(
                "SELECT code, uniqExact(event_id) FROM battrace.flags FINAL "
                "WHERE category IN ('lifecycle', 'mass_balance') GROUP BY code"
            )
        }
    )
    assert {c: n for c, n in flagged.items() if c in stream_codes} == {
        c: n for c, n in expected.items() if c in stream_codes
    }
    assert flagged["outputs_exceed_inputs"] == expected["outputs_exceed_inputs"] > 0


def test_a_cosigned_report_is_certified_offline_and_forged_or_foreign_signed_reports_are_not(
    processed, tmp_path: Path
) -> None:
    """The verifier's co-signature, sealed as a report step, certifies the report against pinned keys; the same
    report with a changed figure, or re-signed by two fresh keys, does not verify; without the verifier's key pinned
    it is not certified."""
    stack, _, _ = processed
    shipment = stack.sql("SELECT min(shipment_id) FROM battrace.reports")[0][0]
    home = stack.settings.home
    cosign(stack, shipment)
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    run = [sys.executable, "-m", "battrace"]
    path = tmp_path / "report-bundle.json"
    subprocess.run([*run, "export", "--report", shipment, "--out", str(path)], env=env, check=True)
    key = subprocess.run([*run, "keys", "export"], env=env, capture_output=True, text=True).stdout.strip()
    roles = subprocess.run([*run, "keys", "export", "--report-roles"], env=env, capture_output=True, text=True)
    role_keys = roles.stdout.split()
    assert sorted(k.split("=")[0] for k in role_keys) == ["manufacturer_qa", "third_party_verifier"]
    offline = {**os.environ, "BATTRACE_HOME": str(tmp_path / "no-services")}
    verify = [*run, "verify", "--bundle", str(path), "--key", key, "--json"]
    pinned = [arg for k in role_keys for arg in ("--report-key", k)]
    result = subprocess.run([*verify, *pinned], env=offline, capture_output=True, text=True)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"], result.stdout + result.stderr
    assert report["report"]["certified"]
    assert report["report"]["verified_roles"] == ["manufacturer_qa", "third_party_verifier"]
    only_qa = [arg for k in role_keys if k.startswith("manufacturer_qa=") for arg in ("--report-key", k)]
    result = subprocess.run([*verify, *only_qa], env=offline, capture_output=True, text=True)
    assert result.returncode == 1 and "third_party_verifier" in result.stdout
    bundle = json.loads(path.read_text())
    changed = json.loads(path.read_text())
    changed["report"]["report"]["delivered_at"] = "2020-01-01T00:00:00.000Z"
    path.write_text(json.dumps(changed))
    result = subprocess.run([*verify, *pinned], env=offline, capture_output=True, text=True)
    assert result.returncode == 1 and "not the report sealed in its records" in result.stdout
    forged = resign_with_fresh_keys(bundle["report"])
    path.write_text(json.dumps({**bundle, "report": forged}))
    result = subprocess.run([*verify, *pinned], env=offline, capture_output=True, text=True)
    assert result.returncode == 1 and "not the report sealed in its records" in result.stdout
    foreign = [arg for s in forged["signatures"] for arg in ("--report-key", f"{s['role']}={s['key']}")]
    path.write_text(json.dumps(bundle))  # the sealed report, judged with the forger's keys: not certified
    result = subprocess.run([*verify, *foreign], env=offline, capture_output=True, text=True)
    assert result.returncode == 1 and not json.loads(result.stdout)["report"]["certified"]


def cosign(stack, shipment: str) -> None:
    """The third-party verifier (a key of its own, pinned by the operator) co-signs the consignment's current report:
    its step goes to reports.events like any source's event, and a worker seals it."""
    from battrace.compliance.issue import step_id
    from battrace.domain.report_events import REPORT_COSIGNED
    from battrace.report.reviews import cosignature
    from battrace.report.signing import THIRD_PARTY_VERIFIER
    from battrace.tlog import generate_signer
    from schemas.catalog import REPORT_EVENT
    from schemas.codec import encode
    from streams import topics

    verifier = generate_signer("verifier.example/report")
    pin = stack.settings.home / "keys" / "report" / f"{THIRD_PARTY_VERIFIER}.vkey"
    pin.write_text(verifier.verifier_key() + "\n")
    pin.chmod(0o600)
    [[document, report_hash]] = stack.sql(
        f"SELECT document, report_hash FROM battrace.reports WHERE shipment_id = '{shipment}'"
    )
    entry = cosignature(json.loads(document), THIRD_PARTY_VERIFIER, verifier)
    step = {
        "event_id": step_id(report_hash, REPORT_COSIGNED, entry["key_id"]),
        "event_time": int(time.time() * 1000),
        "kind": REPORT_COSIGNED,
        "shipment_id": shipment,
        "report_hash": report_hash,
        "document": "",
        "signature": json.dumps(entry),
        "reasons": [],
    }
    with EventProducer(stack.bootstrap) as producer:
        producer.send_raw(topics.REPORTS.name, shipment.encode(), encode(REPORT_EVENT, step))
    stack.process()
    assert stack.sql(f"SELECT verdict FROM battrace.report_reviews WHERE shipment_id = '{shipment}'") == [["cosigned"]]


def resign_with_fresh_keys(document: dict) -> dict:
    """The report with recycled lithium set to 25 %, signed in both roles by keys nobody pinned."""
    from battrace.report.signing import sign_report
    from battrace.tlog import generate_signer

    body = json.loads(json.dumps(document["report"]))
    body["fields"]["recycled_lithium"] = {"share": 0.25}
    signers = {"manufacturer_qa": generate_signer("forger/qa"), "third_party_verifier": generate_signer("forger/tpv")}
    return sign_report(body, signers)
