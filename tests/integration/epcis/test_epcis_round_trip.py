"""EPCIS 2.0 round trip between two stores: one processed store exports everything (`battrace epcis export --all`),
a fresh one (its own broker, its own chDB) captures the document (`battrace epcis capture`) and seals it.

What "the same" means here, checked row by row:
- every event sealed in the first store is sealed in the second under the same event id, with the same event hash:
  its canonical bytes, hence its kind, entities, event time and every payload field, are byte-identical;
- every entity's chain in the second store holds the first store's events of that entity in the same order, seq for
  seq; where the second store added no event of its own, the whole chain is identical (prev and chain hashes too).
  It adds events of its own where it reacts to what it sealed, as it does for native events: its report stage drafts
  and signs a report for each captured delivery (a ``ReportDrafted`` step of its own in the consignment's chain);
- log ids, log indexes, sealed_at and source coordinates are the second store's own.

Beside it, a document mixing bad EPCIS events with good ones: each bad one is rejected with its reason, the good ones
are sealed; the same events sent again are duplicates. The second store verifies (`battrace verify --all`).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from embedded import embedded_stack, run_sql, verify_all

from streams.simulator import simulate

SEALED = "battrace:sealed"
SIMULATED = 1500
RESENT = 10


def _battrace(home: Path, *args: str, kafka: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATTRACE_HOME": str(home), "BATTRACE_KAFKA": kafka}
    env.pop("BATTRACE_CLICKHOUSE", None)
    cmd = [sys.executable, "-m", "battrace", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


def _first(events: list[dict], kind: str) -> dict:
    return copy.deepcopy(next(e for e in events if e[SEALED]["kind"] == kind))


def _renamed(event: dict, event_id: str) -> dict:
    """A new event: another battrace id, no eventID (its GS1 hash would no longer match)."""
    event[SEALED]["eventId"] = event_id
    event.pop("eventID", None)
    return event


def _mixed(exported: dict) -> tuple[dict, dict[str, str]]:
    """A document of bad events between two good new ones; event id -> the reason each bad one must get."""
    events = exported["epcisBody"]["eventList"]
    good_energy = _renamed(_first(events, "EnergyUsed"), "partner-good-1")
    good_energy["sensorElementList"][0]["sensorReport"][0]["value"] = 1.25
    good_position = _renamed(_first(events, "Position"), "partner-good-2")
    unknown_step = _renamed(_first(events, "Assembled"), "partner-bad-step")
    unknown_step["bizStep"] = "destroying"
    unaliased = _renamed(_first(events, "Assembled"), "partner-bad-link")
    unaliased["parentID"] = "https://id.gs1.org/01/06901234000011/21/NOALIAS"
    missing = _renamed(_first(events, "EnergyUsed"), "partner-bad-missing")
    del missing[SEALED]["fields"]["step"]
    not_epcis = _renamed(_first(events, "Licence"), "partner-bad-schema")
    del not_epcis["action"]
    bad_code = _renamed(_first(events, "VehicleIntegrated"), "partner-bad-code")
    bad_code["childEPCs"] = ["urn:battrace:battery:NOT-A-CODE"]
    tampered = _first(events, "Assay")  # keeps its exported eventID, which its changed content no longer hashes to
    tampered[SEALED]["eventId"] = "partner-bad-hash"
    tampered["quantityList"][0]["quantity"] += 1
    expected = {
        "partner-bad-step": "epcis_unmappable",
        "partner-bad-link": "epcis_unmappable",
        "partner-bad-missing": "epcis_unmappable",
        "partner-bad-schema": "epcis_invalid",
        "partner-bad-hash": "epcis_invalid",
        "partner-bad-code": "invalid_battery_code",
    }
    mixed = [good_energy, unknown_step, unaliased, missing, not_epcis, bad_code, tampered, good_position]
    return {**exported, "epcisBody": {"eventList": mixed}}, expected


def _chains(home: Path) -> dict[str, list[tuple]]:
    rows = run_sql(
        home,
        "SELECT entity_type, entity_id, seq, event_id, event_hash, prev_hash, chain_hash FROM battrace.sealed FINAL "
        "ORDER BY entity_type, entity_id, seq",
    )
    chains: dict[str, list[tuple]] = defaultdict(list)
    for etype, eid, seq, event_id, event_hash, prev_hash, chain_hash in rows:
        chains[f"{etype}:{eid}"].append((seq, event_id, event_hash, prev_hash, chain_hash))
    return chains


def _snapshot(home: Path) -> dict[str, list]:
    """What a replay must leave as it is: every row's content (raw rows, FINAL would hide a second one)."""
    return {
        "sealed": run_sql(
            home,
            "SELECT entity_type, entity_id, seq, event_id, event_hash, prev_hash, chain_hash, log_id, log_index "
            "FROM battrace.sealed ORDER BY ALL",
        ),
        "events": run_sql(
            home, "SELECT DISTINCT event_id, source_offset, event_hash FROM battrace.events ORDER BY ALL"
        ),
        "rejects": run_sql(
            home, "SELECT DISTINCT source_offset, reason, detail, event_id, original FROM battrace.rejects ORDER BY ALL"
        ),
    }


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("epcis_round_trip")
    source, target = root / "source", root / "target"
    simulated = list(simulate(SIMULATED, seed=11))
    with embedded_stack(source) as stack:
        stack.publish(simulated)
        stack.process(reports_of=simulated)
    exported_file = root / "all.jsonld"
    result = _battrace(source, "epcis", "export", "--all", "--out", str(exported_file))
    assert result.returncode == 0, result.stderr[-3000:]
    exported = json.loads(exported_file.read_text(encoding="utf-8"))
    mixed, expected = _mixed(exported)
    (root / "mixed.jsonld").write_text(json.dumps(mixed), encoding="utf-8")
    resent = {**exported, "epcisBody": {"eventList": exported["epcisBody"]["eventList"][:RESENT]}}
    (root / "resent.jsonld").write_text(json.dumps(resent), encoding="utf-8")
    with embedded_stack(target) as stack:
        outputs = []
        for name in ("all.jsonld", "mixed.jsonld", "resent.jsonld"):
            sent = _battrace(target, "epcis", "capture", str(root / name), kafka=stack.bootstrap)
            assert sent.returncode == 0, sent.stderr[-3000:]
            outputs.append(sent.stdout)
        stack.process(reports_of=simulated)
        first = _snapshot(target)
        stack.rewind()  # the captured documents read again from offset 0: a replay
        stack.process()
        replayed = _snapshot(target)
        redelivered = stack.sql("SELECT count() FROM battrace.log_entries FINAL WHERE kind = 'redelivered'")[0][0]
    return {
        "source": source,
        "target": target,
        "exported": exported,
        "expected": expected,
        "outputs": outputs,
        "snapshots": (first, replayed),
        "redelivered": redelivered,
    }


def test_capture_says_what_it_sent(round_trip: dict) -> None:
    count = len(round_trip["exported"]["epcisBody"]["eventList"])
    assert round_trip["outputs"][0].startswith(f"sent {count} EPCIS events of ")
    assert " messages to epcis.capture" in round_trip["outputs"][0]


def test_every_exported_event_is_sealed_again_with_the_same_bytes(round_trip: dict) -> None:
    source, target = round_trip["source"], round_trip["target"]
    statement = "SELECT event_id, kind, event_hash FROM battrace.events FINAL ORDER BY event_id"
    before = {row[0]: tuple(row) for row in run_sql(source, statement)}
    sealed_before = {r[0] for r in run_sql(source, "SELECT DISTINCT event_id FROM battrace.sealed FINAL")}
    after = {row[0]: tuple(row) for row in run_sql(target, statement)}
    exported_ids = [e[SEALED]["eventId"] for e in round_trip["exported"]["epcisBody"]["eventList"]]
    assert set(exported_ids) == sealed_before and len(exported_ids) == len(sealed_before)
    assert {i: after.get(i) for i in sealed_before} == {i: before[i] for i in sealed_before}
    canonical = "SELECT event_id, hex(canonical) FROM battrace.events FINAL WHERE event_id IN ({})"
    some = ", ".join(f"'{i}'" for i in sorted(sealed_before)[:50])
    assert dict(run_sql(target, canonical.format(some))) == dict(run_sql(source, canonical.format(some)))


def test_every_chain_holds_the_same_events_in_the_same_order(round_trip: dict) -> None:
    before, after = _chains(round_trip["source"]), _chains(round_trip["target"])
    assert set(before) <= set(after)
    known = {event_id for chain in before.values() for _, event_id, _, _, _ in chain}
    added = dict(run_sql(round_trip["target"], "SELECT event_id, kind FROM battrace.events FINAL"))
    added = {event_id: kind for event_id, kind in added.items() if event_id not in known}
    own = {kind for event_id, kind in added.items() if not event_id.startswith("partner-good-")}
    assert own <= {"ReportDrafted"}  # all the second store adds itself: report drafts of its own
    identical = 0
    for entity, chain in before.items():
        theirs = [(event_id, event_hash) for _, event_id, event_hash, _, _ in chain]
        ours = [(event_id, event_hash) for _, event_id, event_hash, _, _ in after[entity] if event_id not in added]
        assert ours == theirs, entity
        if len(after[entity]) == len(chain):
            assert after[entity] == chain, entity  # the same seqs, event hashes, prev and chain hashes
            identical += 1
        else:  # identical up to the first event the first store does not have
            first_added = next(i for i, step in enumerate(after[entity]) if step[1] in added)
            assert after[entity][:first_added] == chain[:first_added], entity
    extended = {entity for entity in before if any(step[1] in added for step in after[entity])}
    assert identical == len(before) - len(extended) and len(extended) <= len(added), (identical, len(before), extended)


def test_bad_events_are_rejected_each_with_its_reason_and_the_good_ones_sealed(round_trip: dict) -> None:
    target = round_trip["target"]
    rows = run_sql(
        target,
        "SELECT event_id, reason, detail, source_offset, original FROM battrace.rejects FINAL "
        "WHERE source_topic = 'epcis.capture' ORDER BY source_offset",
    )
    reasons = {event_id: reason for event_id, reason, _, _, _ in rows if event_id.startswith("partner-")}
    assert reasons == round_trip["expected"]
    details = {event_id: detail for event_id, _, detail, _, _ in rows}
    assert "bizStep destroying" in details["partner-bad-step"]
    assert "NOALIAS" in details["partner-bad-link"] and "aliases" in details["partner-bad-link"]
    assert "needs step" in details["partner-bad-missing"]
    assert "'action' is a required property" in details["partner-bad-schema"]
    assert "is not the event's GS1 event hash" in details["partner-bad-hash"]
    for event_id, _, _, _, original in rows:  # each reject keeps a document of its event alone
        document = json.loads(original)
        [event] = document["epcisBody"]["eventList"]
        assert document["type"] == "EPCISDocument" and event[SEALED]["eventId"] == event_id
    sealed = {r[0] for r in run_sql(target, "SELECT DISTINCT event_id FROM battrace.sealed FINAL")}
    assert {"partner-good-1", "partner-good-2"} <= sealed
    assert not {i for i in round_trip["expected"] if i in sealed}
    offsets = [offset for _, _, _, offset, _ in rows]
    assert len(offsets) == len(set(offsets))  # every event has coordinates of its own


def test_a_document_sent_again_is_rejected_as_duplicates(round_trip: dict) -> None:
    resent = [e[SEALED]["eventId"] for e in round_trip["exported"]["epcisBody"]["eventList"][:RESENT]]
    rows = run_sql(
        round_trip["target"],
        "SELECT event_id, reason FROM battrace.rejects FINAL WHERE source_topic = 'epcis.capture' "
        "AND reason = 'duplicate'",
    )
    assert sorted(event_id for event_id, _ in rows) == sorted(resent)


def test_a_replay_of_the_captured_documents_seals_the_same_bytes_and_chains(round_trip: dict) -> None:
    first, replayed = round_trip["snapshots"]
    assert first["sealed"] and first["rejects"]
    assert replayed == first
    assert round_trip["redelivered"] >= len(first["events"])  # it was replayed: each item came again, and was known


def test_the_captured_store_verifies(round_trip: dict) -> None:
    code, report = verify_all(round_trip["target"])
    assert code == 0 and report["ok"], report.get("failures", [])[:5]
