"""seal_reference from stored tiles: the same SealReference as a full read of the log, reading at most two blocks.

A stand-in client answers the queries seal.py makes (sealed, checkpoints, log_entries, log_tiles) from dicts, so the
test needs no chDB (which one process may open only once) and can count what each call reads. The real store is
exercised by the pipeline's report tests and tests/integration/store/test_log_tiles_on_a_store.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from battrace.compliance.seal import seal_reference
from battrace.report.build import inclusion_from_row
from battrace.report.model import SealReference
from battrace.store import logs as log_store
from battrace.tlog import CompactTree, inclusion_proof, leaf_hash, root_hash, verify_inclusion

LOG = "battrace/log/0"


@dataclass
class _Result:
    result_rows: list[tuple]
    names: tuple[str, ...] = ()

    def named_results(self):
        return (dict(zip(self.names, row, strict=True)) for row in self.result_rows)


@dataclass(eq=False)  # a client is hashed by identity, as clickhouse_connect's is
class FakeStore:
    """The log tables of one store, as the queries in seal.py and log_store.py see them."""

    entries: dict[str, list[bytes]] = field(default_factory=dict)
    sizes: dict[str, list[int]] = field(default_factory=dict)  # checkpointed sizes per log
    reads: list[tuple[int, int | None]] = field(default_factory=list)  # log_entries ranges read
    tiled: bool = True  # whether the store has a log_tiles table (older stores have none)

    def tiles(self, log_id: str) -> dict[tuple[int, int], bytes]:
        """The tiles the seal stage stores for the log as it stands."""
        found: list[tuple[int, int, bytes]] = []
        CompactTree().extend([leaf_hash(e) for e in self.entries.get(log_id, [])], found)
        return {(h, i): x for h, i, x in found}

    def seal(self, log_id: str, n: int) -> None:
        log = self.entries.setdefault(log_id, [])
        log.extend(f'{{"entity":"shipment:S{i}","seq":{i}}}'.encode() for i in range(len(log), len(log) + n))

    def checkpoint(self, log_id: str, size: int | None = None) -> None:
        self.sizes.setdefault(log_id, []).append(len(self.entries[log_id]) if size is None else size)

    def command(self, sql: str) -> int:
        assert sql == "EXISTS TABLE battrace.archives", sql
        return 0  # a store no archive was dropped from

    def query(self, sql: str, parameters: dict[str, Any] | None = None, column_formats: Any = None) -> _Result:
        parameters = parameters or {}
        if "FROM battrace.sealed" in sql:
            log_id, index = _locate(parameters["i"])
            found = index < len(self.entries.get(log_id, []))
            return _Result([(log_id, index)] if found else [], ("log_id", "log_index"))
        if "FROM battrace.checkpoints" in sql:
            log_id = parameters["log"]
            hashes = [leaf_hash(e) for e in self.entries.get(log_id, [])]
            rows = [
                (log_id, s, root_hash(hashes[:s]).hex(), f"note {log_id} {s}", ()) for s in self.sizes.get(log_id, [])
            ]
            return _Result(sorted(rows, key=lambda r: r[1]))
        if "FROM system.tables" in sql:
            return _Result([(int(self.tiled),)])
        if "FROM battrace.log_tiles" in sql:
            assert self.tiled
            tiles = self.tiles(parameters["log"])
            first, end, height = parameters["first"], parameters["end"], parameters["h"]
            return _Result([(h, i, x.hex()) for (h, i), x in tiles.items() if h == height and first <= i < end])
        if "FROM battrace.log_entries" in sql:
            log = self.entries.get(parameters["log"], [])
            start, end = parameters["start"], parameters["end"] if "log_index <" in sql else None
            self.reads.append((start, end))
            return _Result(
                [(i, e, leaf_hash(e).hex()) for i, e in enumerate(log) if start <= i and (end is None or i < end)]
            )
        raise AssertionError(f"unexpected query {sql}")

    def entries_read(self) -> int:
        n = sum(e - s for s, e in self.reads if e is not None)
        self.reads.clear()
        return n


def _locate(entity_id: str) -> tuple[str, int]:
    """Entity ids name their place in the stand-in store: "<log_id>#<index>"."""
    match = re.fullmatch(r"(.+)#(\d+)", entity_id)
    assert match
    return match[1], int(match[2])


def full_read_reference(client: Any, entity_id: str) -> SealReference | None:
    """seal_reference as it was: every entry read and rehashed, the proof taken from the full list."""
    log_id, index = _locate(entity_id)
    if index >= len(client.entries.get(log_id, [])):
        return None
    signed = log_store.checkpoints(client, log_id)
    if not signed or signed[-1].size <= index:
        return None
    checkpoint = signed[-1]
    leaves = log_store.leaf_hashes(client, log_id, 0, checkpoint.size)
    entry = log_store.entries(client, log_id, index, index + 1)[0][1]
    inclusion = inclusion_from_row(
        f"shipment:{entity_id}", log_id, index, checkpoint.size, entry, inclusion_proof(leaves, index)
    )
    return SealReference((checkpoint.note,), (inclusion,))


def check(store: FakeStore, log_id: str, index: int) -> SealReference | None:
    """The answer, asserted equal to the full read (whose reads are then forgotten)."""
    got = seal_reference(store, "shipment", f"{log_id}#{index}", "e")  # type: ignore[arg-type]
    reads = list(store.reads)
    assert got == full_read_reference(store, f"{log_id}#{index}")
    store.reads[:] = reads
    if got is not None:
        inc = got.inclusions[0]
        root = bytes.fromhex(log_store.checkpoints(store, log_id)[-1].root)  # type: ignore[arg-type]
        proof = [bytes.fromhex(h) for h in inc.proof]
        assert verify_inclusion(leaf_hash(inc.entry.encode()), inc.leaf_index, inc.tree_size, proof, root)
    return got


def test_same_reference_as_a_full_read_reading_two_blocks_at_most() -> None:
    store = FakeStore()
    store.seal(LOG, 5)
    assert check(store, LOG, 0) is None  # sealed, but no checkpoint yet
    store.checkpoint(LOG)
    assert all(check(store, LOG, i) is not None for i in range(5))
    assert check(store, LOG, 5) is None  # not sealed
    for grown in (300, 512, 1300):
        store.seal(LOG, grown - len(store.entries[LOG]))
        store.checkpoint(LOG)
        for i in (0, 255, 256, grown // 2, grown - 1):
            store.entries_read()
            check(store, LOG, i)
            # The proved entry's block, the partial block at the right edge, and the proved entry itself.
            assert store.entries_read() <= 2 * 256 + 1
    assert check(store, LOG, 1300) is None  # beyond the latest checkpoint is not covered


def test_a_checkpoint_older_than_the_log() -> None:
    store = FakeStore()
    store.seal(LOG, 700)
    store.checkpoint(
        LOG, 517
    )  # the latest checkpoint covers fewer entries than the log holds (and tiles exist past it)
    for i in (0, 300, 516):
        assert check(store, LOG, i).inclusions[0].tree_size == 517  # type: ignore[union-attr]
    assert check(store, LOG, 517) is None


def test_a_store_without_tiles_gives_the_same_reference() -> None:
    store = FakeStore(tiled=False)
    store.seal(LOG, 600)
    store.checkpoint(LOG)
    for i in (0, 299, 599):
        assert check(store, LOG, i) is not None


def test_a_missing_entry_still_raises() -> None:
    store = FakeStore(tiled=False)
    store.seal(LOG, 8)
    store.checkpoint(LOG)
    del store.entries[LOG][6:]
    store.sizes[LOG] = [8]
    with pytest.raises(LookupError):
        seal_reference(store, "shipment", f"{LOG}#1", "e")  # type: ignore[arg-type]
