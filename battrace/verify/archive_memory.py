"""A verifier's remembered checkpoints moved on through a verified archive.

`battrace verify --all` remembers each log's newest checkpoint and later requires the store to extend it
(battrace/verify/rollback.py). If that checkpoint lies in history that was archived and dropped since, the live store
can no longer prove it consistent with its newest one: only the archive that holds it can. So `battrace verify
--archive DIR`, once the archive verifies, proves every remembered checkpoint that lies within the archive consistent
with the archive's signed end, and remembers that end instead; the next `verify --all` goes on from there with the
live store. A remembered checkpoint the archive's end does not extend fails the log, naming it.
"""

from __future__ import annotations

from collections.abc import Sequence

from battrace.tlog import NoteError, Verifier, leaf_hash, open_checkpoint, verify_consistency
from battrace.tlog.checkpoint import CheckpointError
from battrace.verify.archive_check import archive_starts
from battrace.verify.archive_files import Archive
from battrace.verify.archive_start import consistency_prover
from battrace.verify.chains import VerifyReport
from battrace.verify.checkpoint_memory import CheckpointMemory, RememberedCheckpoint


def advance_memory(
    archive: Archive, verifiers: Sequence[Verifier], memory: CheckpointMemory, report: VerifyReport
) -> list[RememberedCheckpoint]:
    """Move each remembered checkpoint inside the (verified) archive on to the archive's end; returns those now
    remembered. A contradiction is a failure in ``report`` and leaves that log's memory as it was."""
    entries: dict[str, dict[int, bytes]] = {}
    for row in archive.tables.get("log_entries") or []:
        entries.setdefault(row["log_id"], {})[row["log_index"]] = leaf_hash(row["entry"])

    def leaves(log_id: str, start: int, end: int) -> list[bytes]:
        held = entries.get(log_id, {})
        if any(i not in held for i in range(start, end)):
            raise LookupError(f"the archive lacks entries of {log_id} in [{start}, {end})")
        return [held[i] for i in range(start, end)]

    prove = consistency_prover(archive_starts(archive, verifiers, VerifyReport()), leaves)
    advanced = []
    for log_id, named in sorted(archive.manifest["logs"].items()):
        old = memory.recall(log_id)
        if old is None:
            continue
        try:
            end = open_checkpoint(named["checkpoint"], verifiers, origin=log_id)
        except (KeyError, TypeError, NoteError, CheckpointError):
            continue  # the archive's own check fails it
        start = (named.get("start") or {}).get("size", 0)
        if not start <= old.size <= end.size or (old.size == end.size and old.root == end.root):
            continue  # not within this archive, or already its end
        try:
            proof = prove(log_id, old.size, end.size) if old.size < end.size else None
        except LookupError as exc:
            report.fail(log_id, None, f"cannot prove the remembered checkpoint {old.size} from the archive: {exc}")
            continue
        if proof is None or not verify_consistency(old.size, end.size, proof, old.root, end.root):
            report.fail(
                log_id,
                None,
                f"forked: the archive's checkpoint {end.size} is not consistent with the checkpoint {old.size} this "
                f"verifier accepted ({memory.path(log_id)})",
            )
            continue
        checkpoint = RememberedCheckpoint(log_id, end.size, end.root, named["checkpoint"])
        memory.remember(checkpoint)
        advanced.append(checkpoint)
    return advanced
