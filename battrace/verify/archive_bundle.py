"""A battery's (or consignment's) bundle from an archive, with no ClickHouse: the same bundle `battrace export`
builds from the store (battrace/verify/export.py), as of the log's archive checkpoint, from the archive's rows.

Only a verified archive is read: the manifest's signature and every file's hash must hold (battrace/verify/
archive_check.py), so a bundle never carries rows the archive does not vouch for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from battrace.store.heads import Heads
from battrace.store.logs import StoredCheckpoint
from battrace.tlog import MerkleTree, Verifier, leaf_hash
from battrace.tlog.held_tree import HeldFromTree
from battrace.verify.archive_check import archive_starts, verify_archive
from battrace.verify.archive_files import load_archive
from battrace.verify.chains import VerifyReport
from battrace.verify.export import NothingToExport, assemble_bundle


class ArchiveNotVerified(ValueError):
    """The archive fails verification: no bundle is made from it."""


def bundle_from_archive(
    directory: Path, entity_type: str, entity_id: str, verifiers: Sequence[Verifier]
) -> dict[str, Any]:
    """The entity's bundle; raises ArchiveNotVerified or NothingToExport (the archive does not hold it)."""
    report = verify_archive(directory, verifiers)
    if not report.ok:
        first = report.failures[0] if report.failures else {"entity": str(directory), "problem": "holds no chain"}
        raise ArchiveNotVerified(f"{first['entity']}: {first['problem']}; run `battrace verify --archive {directory}`")
    archive = load_archive(directory, verifiers)
    tables: dict[str, list[dict[str, Any]]] = {k: v or [] for k, v in archive.tables.items()}
    events = {e["event_id"]: e for e in tables["events"]}
    rows = []
    for r in sorted(tables["sealed"], key=lambda r: r["seq"]):
        if (r["entity_type"], r["entity_id"]) != (entity_type, entity_id):
            continue
        event = events.get(r["event_id"], {})
        rows.append(
            (
                *(r[c] for c in ("entity_type", "entity_id", "seq", "event_id", "event_hash", "prev_hash")),
                *(r[c] for c in ("chain_hash", "log_id", "log_index", "sealed_at_ms")),
                event.get("kind"),
                event.get("event_time_ms"),
                event.get("canonical", b""),
            )
        )
    latest = {}
    for c in sorted(tables["checkpoints"], key=lambda c: c["size"]):
        latest[c["log_id"]] = StoredCheckpoint(c["log_id"], c["size"], c["root"], c["note"], tuple(c["compact_range"]))
    entries: dict[str, list[bytes]] = {}
    for e in sorted(tables["log_entries"], key=lambda e: (e["log_id"], e["log_index"])):
        entries.setdefault(e["log_id"], []).append(e["entry"])
    starts = archive_starts(archive, verifiers, VerifyReport())  # verified above: no failure here

    def tree_of(log_id: str, size: int) -> MerkleTree | HeldFromTree:
        start = starts.get(log_id)
        if start is None:
            return MerkleTree(leaf_hash(e) for e in entries.get(log_id, [])[:size])
        held = [leaf_hash(e) for e in entries.get(log_id, [])[: size - start.start.size]]
        return HeldFromTree(start.start.size, start.start.tree.hashes, held)

    def heads_of(log_id: str, size: int) -> Heads:
        heads = Heads(keep_values=True)
        start = starts.get(log_id)
        for entity, (length, chain_hash) in (start.heads if start is not None else {}).items():
            heads.observe(entity, length, chain_hash)
        heads.commit()
        for entry in entries.get(log_id, [])[: size - (start.start.size if start is not None else 0)]:
            heads.observe_entry(entry)
        heads.commit()
        return heads

    if not rows:
        raise NothingToExport(f"the archive holds no sealed records for {entity_type} {entity_id}")
    return assemble_bundle(entity_type, entity_id, rows, latest, tree_of, heads_of, list(verifiers))
