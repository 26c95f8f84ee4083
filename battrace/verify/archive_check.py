"""`battrace verify --archive DIR`: check an archive with no ClickHouse and no broker.

The manifest's signature (a pinned key), each file's SHA-256 and row count, then the rows themselves as
`verify --all` checks a store: every chain gapless from seq 1 (or from its head where an earlier archive ended)
with its hashes recomputed from the archived events' canonical bytes, every log's entries hashed to every archived
checkpoint's root and heads line (signatures and consistency too, battrace/verify/log_audit.py), each sealed row
equal to its log entry, every logged record held, and each log ending at the checkpoint the manifest names. A file
changed after the manifest was signed is named; when the changed file still reads, the entity whose chain or log
entry it breaks is named too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from battrace.domain.entities import entity_key
from battrace.store.archive_marks import ArchivedHead, ArchiveMark
from battrace.store.logs import StoredCheckpoint
from battrace.tlog import Verifier
from battrace.verify import log_audit
from battrace.verify.archive_files import MANIFEST, Archive, ManifestNotTrusted, load_archive
from battrace.verify.archive_start import ArchivedStart, archived_start
from battrace.verify.chains import SEALED_COLUMNS, VerifyReport, verify_chain


def verify_archive(directory: Path, verifiers: Sequence[Verifier]) -> VerifyReport:
    """Raises ArchiveError when the directory holds no readable manifest; everything else, an untrusted manifest
    included, is a failure entry naming the file or the entity."""
    report = VerifyReport()
    try:
        archive = load_archive(directory, verifiers)
    except ManifestNotTrusted as exc:
        report.fail(MANIFEST, None, str(exc))
        return report
    for name, problem in archive.problems:
        report.fail(name, None, problem)
    check_rows(archive, verifiers, report)
    return report


def check_rows(archive: Archive, verifiers: Sequence[Verifier], report: VerifyReport) -> None:
    """Chains and logs of the archive's rows (tables that could not be read are skipped: already failed)."""
    sealed, events = archive.tables.get("sealed"), archive.tables.get("events")
    entries, checkpoints = archive.tables.get("log_entries"), archive.tables.get("checkpoints")
    starts = archive_starts(archive, verifiers, report)
    heads = {entity: head for start in starts.values() for entity, head in start.heads.items()}
    if sealed is not None and events is not None:
        _check_chains(sealed, events, heads, report)
    if entries is not None and checkpoints is not None:
        _check_logs(archive.manifest["logs"], entries, checkpoints, sealed or [], verifiers, starts, report)


def archive_starts(archive: Archive, verifiers: Sequence[Verifier], report: VerifyReport) -> dict[str, ArchivedStart]:
    """Per log that goes on from an earlier archive, its verified start (a start that does not verify fails the
    log, which is then audited from index 0 and fails there too)."""
    starts: dict[str, ArchivedStart] = {}
    rows = archive.tables.get("heads") or []
    for log_id, named in sorted(archive.manifest["logs"].items()):
        start = named.get("start") if isinstance(named, dict) else None
        if start is None:
            continue
        heads = [
            ArchivedHead(log_id, h["position"], h["entity"], h["length"], h["chain_hash"])
            for h in sorted(rows, key=lambda h: h["position"])
            if h["log_id"] == log_id
        ]
        try:
            mark = ArchiveMark(
                log_id, start["size"], start["root"], start["checkpoint"], tuple(start["compact_range"]), "", ""
            )
            starts[log_id] = archived_start(mark, heads, verifiers)
        except (KeyError, TypeError, ValueError) as exc:
            report.fail(log_id, None, f"its start in an earlier archive does not verify: {exc}")
    return starts


def _check_chains(
    sealed: list[dict[str, Any]],
    events: list[dict[str, Any]],
    heads: dict[str, tuple[int, str]],
    report: VerifyReport,
) -> None:
    by_event = {e["event_id"]: (e["event_hash"], e["canonical"], []) for e in events}
    chains: dict[str, list[tuple]] = defaultdict(list)
    for row in sorted(sealed, key=lambda r: (r["entity_type"], r["entity_id"], r["seq"])):
        chains[entity_key(row["entity_type"], row["entity_id"])].append(tuple(row[c] for c in SEALED_COLUMNS))
    for entity, chain in chains.items():
        report.checked += 1
        verify_chain(entity, chain, by_event, report, heads.get(entity))


def _check_logs(
    logs: dict[str, Any],
    entries: list[dict[str, Any]],
    checkpoints: list[dict[str, Any]],
    sealed: list[dict[str, Any]],
    verifiers: Sequence[Verifier],
    starts: dict[str, ArchivedStart],
    report: VerifyReport,
) -> None:
    by_log: dict[str, list[tuple[int, bytes, bytes]]] = defaultdict(list)
    for e in sorted(entries, key=lambda e: (e["log_id"], e["log_index"])):
        try:
            stored_hash = bytes.fromhex(e["leaf_hash"])
        except ValueError:
            stored_hash = b""
        by_log[e["log_id"]].append((e["log_index"], e["entry"], stored_hash))
    notes: dict[str, list[StoredCheckpoint]] = defaultdict(list)
    for c in sorted(checkpoints, key=lambda c: (c["log_id"], c["size"])):
        notes[c["log_id"]].append(
            StoredCheckpoint(c["log_id"], c["size"], c["root"], c["note"], tuple(c["compact_range"]))
        )
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sealed:
        rows[row["log_id"]].append(row)
    held = {(r["entity_type"], r["entity_id"], r["seq"]): (r["log_id"], r["log_index"]) for r in sealed}
    for log_id in sorted(set(logs) | set(by_log) | set(rows)):
        start = starts.get(log_id)
        view = log_audit.audit_entries(
            log_id, by_log.get(log_id, []), notes.get(log_id, []), verifiers, start.start if start else None
        )
        for problem in view.problems:
            report.fail(log_id, None, problem)
        named = logs.get(log_id)
        if not isinstance(named, dict):
            report.fail(log_id, None, "the log is not named in the manifest")
        elif (named.get("size"), named.get("root")) != (view.signed_size, view.signed_root.hex()):
            report.fail(
                log_id,
                None,
                f"the archive ends at checkpoint {view.signed_size}, the manifest says {named.get('size')}",
            )
        elif view.start + len(view.leaves) != view.signed_size:
            held = f"[{view.start}, {view.start + len(view.leaves)})"
            report.fail(log_id, None, f"holds entries {held}, its archive checkpoint {view.signed_size}")
        for entity, seq, problem in log_audit.check_rows(view, rows.get(log_id, []), prove=False):
            report.fail(entity, seq, problem)
        for index, rec in log_audit.logged_records(view):
            if held.get((rec["entity_type"], rec["entity_id"], rec["seq"])) != (log_id, index):
                entity = entity_key(rec["entity_type"], rec["entity_id"])
                report.fail(entity, rec["seq"], f"logged as entry {index} of {log_id} but the archive holds no row")
