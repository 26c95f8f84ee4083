"""A battery's (or consignment's) whole bundle when its chain's beginning was archived: the same bundle `battrace
export` builds from the store (battrace/verify/export.py), from consecutive archives (battrace/verify/
archive_series.py) and, when the live store is given, the records it holds after them.

With the live store the bundle is as of the log's newest checkpoint: the archived records and the live ones, every
inclusion proof against that checkpoint, the head from its heads tree. The proofs of archived leaves need the leaf
hashes before the cut, which the archives' log entries give; the joined tree must have each archive's signed root
at its size and the checkpoint's root at its size, so a wrong archive, or a store that does not go on from the
archives given, is refused. With archives alone (an auditor's) the bundle is as of the last archive's checkpoint.

Only verified archives are read: the manifest's signature and every file's hash must hold (battrace/verify/
archive_check.py), so a bundle never carries rows an archive does not vouch for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.store import archive_marks
from battrace.store import logs as log_store
from battrace.store.heads import stored_heads
from battrace.tlog import MerkleTree, Verifier
from battrace.tlog.held_tree import HeldFromTree
from battrace.verify.archive_series import ArchiveNotVerified, ArchiveSeries, open_series
from battrace.verify.export import NothingToExport, assemble_bundle, entity_rows

__all__ = ["ArchiveNotVerified", "bundle_from_archives"]


def bundle_from_archives(
    directories: Sequence[Path],
    entity_type: str,
    entity_id: str,
    verifiers: Sequence[Verifier],
    client: Client | None = None,
) -> dict[str, Any]:
    """The entity's bundle from the archives (and the live store ``client`` when given); raises ArchiveError,
    ArchiveNotVerified (an archive, or the archives and the store, do not hold together) or NothingToExport."""
    series = open_series(directories, verifiers)
    archived = series.sealed_rows(entity_type, entity_id)
    if client is None:
        if not archived:
            raise NothingToExport(f"the archives hold no sealed records for {entity_type} {entity_id}")
        _require_first_record(series, archived, entity_type, entity_id)
        log_id = archived[0][7]
        tree = series.tree(log_id)
        series.check_tree(log_id, tree)
        return assemble_bundle(
            entity_type,
            entity_id,
            archived,
            series.checkpoints,
            lambda _log, _size: tree,
            series.heads,
            list(verifiers),
        )
    latest = log_store.latest_checkpoints(client)  # before the records: a newer checkpoint could cover newer records
    live = entity_rows(client, entity_type, entity_id)
    log_ids = sorted({r[7] for r in archived} | {r[7] for r in live})  # one (assemble_bundle refuses several)
    if not log_ids:
        raise NothingToExport(f"no sealed records for {entity_type} {entity_id} in the archives or the store")
    log_id = log_ids[0]
    end = series.end(log_id)
    cut = end.size if end is not None else 0
    rows = archived + [r for r in live if r[8] >= cut]  # a store archived without --drop still holds the archived rows
    _require_first_record(series, rows, entity_type, entity_id)
    cp = latest.get(log_id)
    if cp is None or cp.size < cut:
        raise NothingToExport(f"{entity_type} {entity_id}: no checkpoint of {log_id} past the archives yet; retry")
    tree = _joined_tree(client, series, log_id, cut, cp.size)
    if tree.root(cp.size).hex() != cp.root:
        raise ArchiveNotVerified(
            f"{log_id}: the live store's checkpoint {cp.size} is not the tree of the archives given and the entries "
            "after them; give the archives of this store and run `battrace verify --all`"
        )
    return assemble_bundle(
        entity_type,
        entity_id,
        rows,
        latest,
        lambda _log, _size: tree,
        lambda log, size: stored_heads(client, log, size, keep_values=True),
        list(verifiers),
    )


def _joined_tree(client: Client, series: ArchiveSeries, log_id: str, cut: int, size: int) -> MerkleTree | HeldFromTree:
    """The log's tree over the archived leaves and the live ones up to ``size``, once the live store is seen to go
    on from the last archive given (its first entry and its archive mark)."""
    end = series.end(log_id)
    held_from = log_store.log_starts(client).get(log_id, 0)
    if held_from > cut:
        after = f"the archives given end at entry {cut}" + (f" ({end.directory})" if end is not None else "")
        raise ArchiveNotVerified(
            f"the live store holds {log_id} from entry {held_from}, {after}: add the archives in between with --archive"
        )
    mark = archive_marks.marks(client).get(log_id)
    if end is not None and mark is not None and mark.size == cut and mark.manifest_sha256 != end.manifest_sha256:
        raise ArchiveNotVerified(
            f"the live store goes on from another archive of {log_id} than {end.directory} (manifest SHA-256 "
            f"{mark.manifest_sha256}); give the archives of this store"
        )
    try:
        live = log_store.leaf_hashes(client, log_id, cut, size)
    except LookupError as exc:
        raise ArchiveNotVerified(f"{exc}: run `battrace verify --all`") from None
    tree = series.tree(log_id, live)
    series.check_tree(log_id, tree)
    return tree


def _require_first_record(
    series: ArchiveSeries, rows: Sequence[Sequence[Any]], entity_type: str, entity_id: str
) -> None:
    """A bundle starts at the chain's first record: one held before the first archive given names that archive."""
    first = min((r[2] for r in rows), default=1)
    if first == 1:
        return
    log_id = rows[0][7]
    start = series.archives[0].manifest["logs"].get(log_id, {}).get("start")
    if not start:
        raise NothingToExport(f"{entity_type} {entity_id}: records 1 to {first - 1} are in none of the archives given")
    raise NothingToExport(
        f"{entity_type} {entity_id}: records 1 to {first - 1} are in an archive before {series.archives[0].directory},"
        f" the one ending {log_id} at entry {start.get('size')} (manifest SHA-256 {start.get('manifest_sha256')}); "
        "add it with --archive"
    )
