"""Where a live log and its chains go on after their beginning was archived and dropped, checked before it is used.

The live store keeps, per log, the archive checkpoint (signed note, compact range) and the heads of its entities
(battrace/store/archive_marks.py). None of it is trusted as stored: the note must verify with a trusted key for the
log's origin, the compact range must hash to the note's root and the heads must hash to its heads line. Then the
live log is audited from that size (battrace/verify/log_audit.py) and each entity's live chain must go on from its
archived head; anything else missing is still missing history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from battrace.store.archive_marks import ArchivedHead, ArchiveMark
from battrace.store.heads import Heads
from battrace.tlog import (
    CompactTree,
    NoteError,
    Verifier,
    consistency_proof,
    consistency_proof_appended,
    open_checkpoint,
)
from battrace.tlog.checkpoint import CheckpointError
from battrace.verify.log_audit import LogStart
from schemas.heads import HeadsLineError, parse_heads


@dataclass(frozen=True)
class ArchivedStart:
    """A verified start of a log, and each archived entity's (length, chain hash) in it."""

    start: LogStart
    heads: dict[str, tuple[int, str]]


def archived_start(mark: ArchiveMark, heads: Sequence[ArchivedHead], verifiers: Sequence[Verifier]) -> ArchivedStart:
    """The verified start; raises ValueError naming what does not hold."""
    where = f"archive mark of {mark.log_id} (until {mark.until})"
    try:
        cp = open_checkpoint(mark.note, verifiers, origin=mark.log_id)
    except (NoteError, CheckpointError) as exc:
        raise ValueError(f"{where}: its checkpoint does not verify ({exc})") from None
    if cp.size != mark.size:
        raise ValueError(f"{where}: its checkpoint has size {cp.size}, the mark says {mark.size}")
    try:
        tree = CompactTree.from_dict({"size": mark.size, "hashes": list(mark.compact_range)})
    except ValueError as exc:
        raise ValueError(f"{where}: malformed compact range ({exc})") from None
    if tree.root() != cp.root:
        raise ValueError(f"{where}: its compact range does not hash to the checkpoint's root")
    try:
        committed = parse_heads(cp.extensions)
    except HeadsLineError as exc:
        raise ValueError(f"{where}: {exc}") from None
    tracked = Heads()
    values: dict[str, tuple[int, str]] = {}
    for position, head in enumerate(heads):
        if head.position != position or head.entity in values:
            raise ValueError(f"{where}: archived heads are not a tree in order (position {head.position})")
        tracked.observe(head.entity, head.length, head.chain_hash)
        values[head.entity] = (head.length, head.chain_hash)
    if committed is None:
        raise ValueError(f"{where}: its checkpoint has no heads line, so the archived heads cannot be checked")
    if tracked.commit() != committed:
        raise ValueError(f"{where}: the archived heads do not hash to its checkpoint's heads line")
    return ArchivedStart(LogStart(cp.size, cp.root, tree, tracked), values)


def consistency_prover(
    starts: Mapping[str, ArchivedStart], leaves: Callable[[str, int, int], list[bytes]]
) -> Callable[[str, int, int], list[bytes]]:
    """A consistency proof between two sizes of a log from the leaves the store holds (``leaves(log, start, end)``,
    LookupError if any is lacking): from every leaf, or, for a log held from an archive's end, from the archive's
    compact range and the leaves after it. A size under the archive cannot be proven from the live store."""

    def prove(log_id: str, old_size: int, new_size: int) -> list[bytes]:
        archived = starts.get(log_id)
        if archived is None:
            return consistency_proof(leaves(log_id, 0, new_size), old_size)
        start = archived.start
        if old_size < start.size:
            raise LookupError(
                f"its entries below {start.size} are archived: run `battrace verify --archive DIR` on the archive "
                "that holds them, which moves this verifier on to the archive's end"
            )
        tree = start.tree.copy()
        tree.extend(leaves(log_id, start.size, old_size))
        return consistency_proof_appended(tree.hashes, old_size, leaves(log_id, old_size, new_size))

    return prove
