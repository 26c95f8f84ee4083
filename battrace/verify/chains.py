"""Recompute every per-entity chain from ClickHouse and check it against the events and the signed logs.

Detects altered rows (hashes no longer recompute), deleted rows (a gap, an event that names an entity
with no sealed row for it, or a logged record without its row), reordered and inserted rows (prev/chain
hashes break, and the row no longer equals its log entry), and logs or checkpoints that were changed
(signatures, roots and consistency; see battrace/verify/log_audit.py). Then the rows derived from the sealed
events (decoded events, genealogy, carbon, flags, projections and the audit's tables) are recomputed and compared
(battrace/verify/derived.py): a derived row that differs, is forged or is missing fails like a broken chain.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client

from battrace.compliance.audit import AuditParams
from battrace.domain.chain import GENESIS, chain_step
from battrace.domain.entities import BATTERY, entity_key, split_key
from battrace.settings import get_settings
from battrace.store import archive_marks, log_tiles
from battrace.store import logs as log_store
from battrace.tlog import Verifier
from battrace.verify import log_audit
from battrace.verify.archive_start import ArchivedStart, archived_start
from battrace.verify.derived_audit import check_audit, check_battery_audit
from battrace.verify.derived_check import check_all, check_battery
from battrace.verify.witness_quorum import WitnessQuorum


@dataclass
class VerifyReport:
    checked: int = 0
    failures: list[dict[str, object]] = field(default_factory=list)
    archived: int = 0  # entities and events whose derived rows depend on archived history: differences not counted

    @property
    def ok(self) -> bool:
        return self.checked > 0 and not self.failures

    def fail(self, entity: str, seq: int | None, problem: str) -> None:
        self.failures.append({"entity": entity, "seq": seq, "problem": problem})

    def to_json(self) -> dict[str, object]:
        found: dict[str, object] = {"checked": self.checked, "ok": self.ok, "failures": self.failures}
        if self.archived:
            found["archived"] = self.archived
        return found


def _events(client: Client, where: str, params: dict[str, object]) -> dict[str, tuple[str, bytes, list[str]]]:
    result = client.query(
        f"SELECT event_id, event_hash, canonical, entities FROM battrace.events FINAL {where}",
        parameters=params,
        column_formats={"canonical": "bytes"},
    )
    return {r[0]: (r[1], r[2], r[3]) for r in result.result_rows}


SEALED_COLUMNS = ("entity_type", "entity_id", "seq", "event_id", "event_hash", "prev_hash", "chain_hash")


def verify(
    client: Client,
    verifiers: list[Verifier],
    battery_id: str | None = None,
    audit: AuditParams | None = None,
    witnesses: WitnessQuorum | None = None,
) -> VerifyReport:
    """Check one battery's chain (its events, log entries, inclusion proofs and the rows shown for it) or, with no
    id, everything. ``audit``: the parameters the audit ran with (default: this deployment's settings);
    ``witnesses``: the cosignatures each log's newest checkpoint (the one rows are checked against) must carry."""
    if battery_id is None:
        sealed_where, params = "", {}
        events = _events(client, "", {})
    else:
        sealed_where = "WHERE entity_type = {t:String} AND entity_id = {i:String}"
        params = {"t": BATTERY, "i": battery_id}
        events = _events(client, "WHERE has(entities, {e:String})", {"e": entity_key(BATTERY, battery_id)})
    rows = client.query(
        f"SELECT {', '.join(SEALED_COLUMNS)}, log_id, log_index "
        f"FROM battrace.sealed FINAL {sealed_where} ORDER BY entity_type, entity_id, seq",
        parameters=params,
    ).result_rows
    report = VerifyReport()
    starts = archived_starts(client, verifiers, report)
    archived_heads = {entity: head for s in starts.values() for entity, head in s.heads.items()}
    chains: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        chains[entity_key(row[0], row[1])].append(row)
    if battery_id is not None and not chains and not events:
        report.fail(entity_key(BATTERY, battery_id), None, "no sealed records for this battery")
        return report
    sealed_pairs: set[tuple[str, str]] = set()
    for entity, chain in chains.items():
        report.checked += 1
        verify_chain(entity, chain, events, report, archived_heads.get(entity))
        sealed_pairs.update((entity, r[3]) for r in chain)
    for event_id, (_, _, entities) in events.items():
        for entity in entities:
            if battery_id is not None and split_key(entity) != (BATTERY, battery_id):
                continue
            if (entity, event_id) not in sealed_pairs and entity not in archived_heads:
                report.fail(entity, None, f"event {event_id} names this entity but no sealed row holds it")
    _verify_logs(client, verifiers, rows, battery_id, report, witnesses, starts)
    archived = depends_on_archive(set(archived_heads), events) if archived_heads else set()
    _verify_derived(client, battery_id, audit, report, archived)
    return report


def depends_on_archive(archived: set[str], events: dict[str, tuple[str, bytes, list[str]]]) -> set[str]:
    """Entities (and ``event:<id>`` keys) whose derived rows can depend on archived events: the archived entities,
    every entity sharing an event with one of them, transitively (a battery's carbon allocates its lots' refining,
    a pack's its cells'), and the events naming only such entities. Their rows derive from whole chains the live
    store no longer holds, so they are counted apart instead of recomputed."""
    tainted = set(archived)
    grew = True
    while grew:
        grew = False
        for _, _, entities in events.values():
            if any(e in tainted for e in entities) and not tainted.issuperset(entities):
                tainted.update(entities)
                grew = True
    return tainted | {
        f"event:{event_id}" for event_id, (_, _, entities) in events.items() if tainted.issuperset(entities)
    }


def archived_starts(client: Client, verifiers: list[Verifier], report: VerifyReport) -> dict[str, ArchivedStart]:
    """Per log whose beginning was archived and dropped, where it and its chains go on (a mark that does not verify
    fails the log, which is then audited from index 0 and fails there too if its beginning is gone). A mark of a log
    that still holds its first entry is ignored: nothing is taken on trust from an archive the store does not need."""
    starts = {}
    marks = archive_marks.marks(client)
    if not marks:
        return starts
    heads = archive_marks.heads(client)
    held_from = log_store.log_starts(client)
    for log_id, mark in marks.items():
        if held_from.get(log_id, mark.size) == 0:
            continue
        try:
            starts[log_id] = archived_start(mark, heads.get(log_id, []), verifiers)
        except ValueError as exc:
            report.fail(log_id, None, str(exc))
    return starts


def _verify_derived(
    client: Client, battery_id: str | None, audit: AuditParams | None, report: VerifyReport, archived: set[str]
) -> None:
    """Derived rows of entities whose chain and log entries hold; an entity already failing is named for that
    (which events its chain seals is in question, so what they derive is too). An entity whose chain begins in an
    archive is counted apart: its rows derive from a whole chain the live store no longer holds."""
    broken = {f["entity"] for f in report.failures}
    params = audit or AuditParams.from_settings(get_settings())
    if battery_id is not None:
        differences = check_battery(client, battery_id) + check_battery_audit(client, battery_id, params)
    else:
        differences = check_all(client) + check_audit(client, params)
    skipped = set()
    for d in differences:
        if d.entity in archived:
            skipped.add(d.entity)
        elif d.entity not in broken:
            report.fail(d.entity, d.seq, d.problem)
    report.archived = len(skipped)


def _verify_logs(
    client: Client,
    verifiers: list[Verifier],
    rows: list[tuple],
    battery_id: str | None,
    report: VerifyReport,
    witnesses: WitnessQuorum | None,
    starts: dict[str, ArchivedStart],
) -> None:
    """Every log is audited (a deleted battery is found through its logged records); rows are checked against it,
    under its newest checkpoint, which must carry the required witness cosignatures. For one battery, only its rows
    are proven, in the logs that hold them (battrace/verify/log_audit.py ``prove_rows``)."""
    if battery_id is not None:
        _prove_battery_rows(client, verifiers, rows, report, witnesses)
        return
    logged = client.query("SELECT DISTINCT log_id FROM battrace.log_entries ORDER BY log_id").result_rows
    log_ids = [r[0] for r in logged]
    by_log: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_log[row[7]].append(dict(zip((*SEALED_COLUMNS, "log_id", "log_index"), row, strict=True)))
    held = {(r[0], r[1], r[2]): (r[7], r[8]) for r in rows}
    tiled = log_tiles.has_tiles(client)
    for log_id in sorted(set(log_ids) | set(by_log) | set(starts)):
        start = starts.get(log_id)
        view = log_audit.audit_log(client, log_id, verifiers, start.start if start is not None else None)
        for problem in view.problems:
            report.fail(log_id, None, problem)
        short = witnesses.problem(view.latest_note) if witnesses is not None and view.latest_note else None
        if short is not None:
            report.fail(log_id, None, f"checkpoint {view.signed_size}: {short}")
        for entity, seq, problem in log_audit.check_rows(view, by_log.get(log_id, []), prove=False):
            report.fail(entity, seq, problem)
        stored_tiles = log_tiles.stored_tiles(client, log_id) if tiled else {}
        for problem in log_audit.tile_problems(view, stored_tiles, start.start if start is not None else None):
            report.fail(log_id, None, problem)
        for index, rec in log_audit.logged_records(view):
            if held.get((rec["entity_type"], rec["entity_id"], rec["seq"])) != (log_id, index):
                entity = entity_key(rec["entity_type"], rec["entity_id"])
                report.fail(entity, rec["seq"], f"logged as entry {index} of {log_id} but no sealed row holds it")


def _prove_battery_rows(
    client: Client, verifiers: list[Verifier], rows: list[tuple], report: VerifyReport, witnesses: WitnessQuorum | None
) -> None:
    """Each log holding the battery's rows: its rows proven against the latest checkpoint, which must carry the
    required witness cosignatures."""
    by_log: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_log[row[7]].append(dict(zip((*SEALED_COLUMNS, "log_id", "log_index"), row, strict=True)))
    for log_id, log_rows in sorted(by_log.items()):
        entity = entity_key(log_rows[0]["entity_type"], log_rows[0]["entity_id"])
        proven = log_audit.prove_rows(client, log_id, verifiers, entity, log_rows)
        for problem in proven.log_problems:
            report.fail(log_id, None, problem)
        short = witnesses.problem(proven.latest_note) if witnesses is not None and proven.latest_note else None
        if short is not None:
            report.fail(log_id, None, f"checkpoint {proven.signed_size}: {short}")
        for failed_entity, seq, problem in proven.row_problems:
            report.fail(failed_entity, seq, problem)


def verify_chain(
    entity: str, chain: list[tuple], events: dict, report: VerifyReport, archived: tuple[int, str] | None = None
) -> None:
    """Recompute one chain from seq 1, or, when it goes on from an archive (``archived``: the length and chain hash
    of its last archived record), from there."""
    prev, first = GENESIS, 1
    if archived is not None and chain and chain[0][2] != 1:  # rows of an archived chain still held start at 1
        prev, first = bytes.fromhex(archived[1]), archived[0] + 1
    for expected_seq, (_, _, seq, event_id, ev_hash, prev_hash, chain_hash, *_) in enumerate(chain, start=first):
        if seq != expected_seq:
            report.fail(entity, seq, f"sequence gap: expected {expected_seq}, found {seq}")
            return
        if prev_hash != prev.hex():
            report.fail(entity, seq, "prev_hash does not match the previous chain_hash")
            return
        try:
            recomputed = chain_step(prev, bytes.fromhex(ev_hash), seq)
        except ValueError:
            report.fail(entity, seq, "event_hash is not a 32-byte hex digest")
            return
        if recomputed.hex() != chain_hash:
            report.fail(entity, seq, "chain_hash does not recompute")
            return
        event = events.get(event_id)
        if event is None:
            report.fail(entity, seq, f"event {event_id} is not among the accepted events")
        elif event[0] != ev_hash or hashlib.sha256(event[1]).hexdigest() != ev_hash:
            report.fail(entity, seq, f"event {event_id}: stored bytes do not hash to event_hash")
        prev = recomputed
