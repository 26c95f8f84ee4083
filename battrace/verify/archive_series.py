"""Several archives of one store read as one: verified each, put in order, and checked to follow one another.

Monthly archiving leaves a log's history in many archive directories, each going on from the one before (its
manifest's ``start`` names the earlier archive's end: size, root and the manifest's SHA-256). A battery's whole
bundle needs all of them, so they are read together here: each must verify (battrace/verify/archive_check.py), then
they are sorted and every log of each must start exactly where the archive before it that holds the log ended. The
first archive may itself go on from an earlier one that was not given (its start is verified by its signature): its
leaves before it are then its compact range, like a live log's after a drop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from battrace.store.heads import Heads
from battrace.store.logs import StoredCheckpoint
from battrace.tlog import MerkleTree, Verifier, leaf_hash
from battrace.tlog.held_tree import HeldFromTree
from battrace.verify.archive_check import archive_starts, verify_archive
from battrace.verify.archive_files import MANIFEST, Archive, load_archive, sha256_file
from battrace.verify.archive_start import ArchivedStart
from battrace.verify.chains import VerifyReport


class ArchiveNotVerified(ValueError):
    """An archive fails verification, or the archives given do not follow one another: no bundle is made."""


@dataclass(frozen=True)
class ArchiveEnd:
    """Where one log's part in an archive ends, and which archive (its manifest's SHA-256) ends it."""

    size: int
    root: str
    manifest_sha256: str
    directory: Path


@dataclass
class ArchiveSeries:
    """Consecutive verified archives, oldest first, with each log's rows joined across them."""

    archives: list[Archive]
    starts: dict[str, ArchivedStart] = field(default_factory=dict)  # log -> where the first archive goes on from
    ends: dict[str, list[ArchiveEnd]] = field(default_factory=dict)  # log -> each archive's end of it, in order
    entries: dict[str, list[bytes]] = field(default_factory=dict)  # log -> entries from its start to its end
    checkpoints: dict[str, StoredCheckpoint] = field(default_factory=dict)  # log -> its last archive checkpoint

    def end(self, log_id: str) -> ArchiveEnd | None:
        """The last archive's end of the log (None for a log no archive holds)."""
        return self.ends[log_id][-1] if log_id in self.ends else None

    def check_tree(self, log_id: str, tree: MerkleTree | HeldFromTree) -> None:
        """Every archive's end of the log must be the root of ``tree`` at that size: a tree joined from the wrong
        archives, or a live log that does not extend them, is refused."""
        for end in self.ends.get(log_id, []):
            if tree.root(end.size).hex() != end.root:
                raise ArchiveNotVerified(
                    f"{log_id}: the tree joined from the archives and the live store has another root at entry "
                    f"{end.size} than the archive {end.directory} signed; give the archives of this store"
                )

    def first_index(self, log_id: str) -> int:
        """The log index the series holds the log from: 0, or where the first archive goes on from."""
        start = self.starts.get(log_id)
        return start.start.size if start is not None else 0

    def tree(self, log_id: str, later: Sequence[bytes] = ()) -> MerkleTree | HeldFromTree:
        """The log's tree over the archived leaves and ``later`` leaf hashes after them."""
        leaves = [leaf_hash(e) for e in self.entries.get(log_id, [])] + list(later)
        start = self.starts.get(log_id)
        if start is None:
            return MerkleTree(leaves)
        return HeldFromTree(start.start.size, start.start.tree.hashes, leaves)

    def heads(self, log_id: str, size: int) -> Heads:
        """The heads of the log's first ``size`` entries (at most the archived end), with their values."""
        heads = Heads(keep_values=True)
        start = self.starts.get(log_id)
        for entity, (length, chain_hash) in (start.heads if start is not None else {}).items():
            heads.observe(entity, length, chain_hash)
        heads.commit()
        for entry in self.entries.get(log_id, [])[: size - self.first_index(log_id)]:
            heads.observe_entry(entry)
        heads.commit()
        return heads

    def sealed_rows(self, entity_type: str, entity_id: str) -> list[tuple[Any, ...]]:
        """The entity's archived rows joined with their archived events, in seq order (export.assemble_bundle's)."""
        rows = []
        for archive in self.archives:
            events = {e["event_id"]: e for e in archive.tables["events"] or []}
            for r in archive.tables["sealed"] or []:
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
        return sorted(rows, key=lambda r: r[2])


def open_series(directories: Sequence[Path], verifiers: Sequence[Verifier]) -> ArchiveSeries:
    """The archives verified, sorted and checked to follow one another; raises ArchiveNotVerified naming the
    archive (and the file or log) that does not hold, ArchiveError for a directory with no readable manifest."""
    loaded = []
    for directory in directories:
        report = verify_archive(directory, verifiers)
        if not report.ok:
            first = report.failures[0] if report.failures else {"entity": MANIFEST, "problem": "holds no chain"}
            raise ArchiveNotVerified(
                f"the archive {directory} does not verify ({first['entity']}: {first['problem']}); "
                f"run `battrace verify --archive {directory}`"
            )
        loaded.append(load_archive(directory, verifiers))
    loaded.sort(key=_order)
    series = ArchiveSeries(loaded)
    for position, archive in enumerate(loaded):
        digest = sha256_file(archive.directory / MANIFEST)
        starts = archive_starts(archive, verifiers, VerifyReport())  # verified above: no failure here
        for log_id, named in sorted(archive.manifest["logs"].items()):
            _follow(series, archive.directory, log_id, named.get("start"), first=position == 0)
            if position == 0 and log_id in starts:
                series.starts[log_id] = starts[log_id]
            end = ArchiveEnd(named["size"], named["root"], digest, archive.directory)
            series.ends.setdefault(log_id, []).append(end)
        for e in sorted(archive.tables["log_entries"] or [], key=lambda e: (e["log_id"], e["log_index"])):
            series.entries.setdefault(e["log_id"], []).append(e["entry"])
        for c in sorted(archive.tables["checkpoints"] or [], key=lambda c: c["size"]):
            series.checkpoints[c["log_id"]] = StoredCheckpoint(
                c["log_id"], c["size"], c["root"], c["note"], tuple(c["compact_range"])
            )
    return series


def _order(archive: Archive) -> tuple[str, int]:
    """Archives in the order they were made: by month, then by how far their logs reach."""
    logs = archive.manifest["logs"].values()
    return str(archive.manifest.get("until", "")), sum(int(named.get("size", 0)) for named in logs)


def _follow(series: ArchiveSeries, directory: Path, log_id: str, start: dict[str, Any] | None, first: bool) -> None:
    """The log's part in ``directory`` must start where the archive before it that holds the log ended."""
    before = series.ends[log_id][-1] if log_id in series.ends else None
    if before is None:
        if start is not None and not first:
            raise ArchiveNotVerified(
                f"the archive {directory} goes on from {log_id} at entry {start.get('size')} (an archive whose "
                f"manifest SHA-256 is {start.get('manifest_sha256')}), which no archive given before it ends at: "
                "add that archive with --archive"
            )
        return
    if start is None or (start.get("size"), start.get("root"), start.get("manifest_sha256")) != (
        before.size,
        before.root,
        before.manifest_sha256,
    ):
        found = "from entry 0" if start is None else f"from entry {start.get('size')}"
        raise ArchiveNotVerified(
            f"the archive {directory} does not go on from {before.directory}: its {log_id} starts {found}, "
            f"that archive ends at entry {before.size}; give consecutive archives with --archive"
        )
