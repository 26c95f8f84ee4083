"""seal_reference from a cached MerkleTree: the same SealReference as a full read of the log, reading only new entries.

A stand-in client answers the three queries seal.py makes (sealed, checkpoints, log_entries) from dicts, so the
test needs no chDB (which one process may open only once) and can count what each call reads. The real store is
exercised by the pipeline's report tests.
"""

from __future__ import annotations

import gc
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from battrace.compliance import seal
from battrace.compliance.seal import seal_reference
from battrace.report.build import inclusion_from_row
from battrace.report.model import SealReference
from battrace.store import logs as log_store
from battrace.tlog import inclusion_proof, leaf_hash, root_hash, verify_inclusion

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

    def seal(self, log_id: str, n: int) -> None:
        log = self.entries.setdefault(log_id, [])
        log.extend(f'{{"entity":"shipment:S{i}","seq":{i}}}'.encode() for i in range(len(log), len(log) + n))

    def checkpoint(self, log_id: str, size: int | None = None) -> None:
        self.sizes.setdefault(log_id, []).append(len(self.entries[log_id]) if size is None else size)

    def command(self, sql: str) -> int:
        assert sql == "EXISTS TABLE battrace.archives", sql
        return 0  # a store no archive was dropped from

    def query(self, sql: str, parameters: dict[str, Any], column_formats: Any = None) -> _Result:
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
    """The cached answer, asserted equal to the full read (whose reads are then forgotten)."""
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


def test_same_reference_as_a_full_read_and_only_new_entries_are_read() -> None:
    store = FakeStore()
    store.seal(LOG, 5)
    assert check(store, LOG, 0) is None  # sealed, but no checkpoint yet
    store.checkpoint(LOG)
    assert all(check(store, LOG, i) is not None for i in range(5))
    assert check(store, LOG, 5) is None  # not sealed
    store.entries_read()
    for grown in range(6, 80):
        store.seal(LOG, 1)
        store.checkpoint(LOG)
        for i in (0, grown // 2, grown - 1):
            check(store, LOG, i)
        # One new leaf for the tree, plus the proved entry itself on each call.
        assert store.entries_read() == 1 + 3
    assert check(store, LOG, 79) is None  # beyond the latest checkpoint is not covered


def test_a_checkpoint_older_than_the_cached_tree() -> None:
    store = FakeStore()
    store.seal(LOG, 40)
    store.checkpoint(LOG)
    for i in range(40):
        check(store, LOG, i)
    store.sizes[LOG] = [17]  # the latest checkpoint now covers fewer leaves than the tree holds
    store.entries_read()
    for i in range(17):
        assert check(store, LOG, i).inclusions[0].tree_size == 17  # type: ignore[union-attr]
    assert store.entries_read() == 17  # only the proved entries: the tree already had them
    assert check(store, LOG, 17) is None


def test_logs_and_clients_have_their_own_trees() -> None:
    a, b = FakeStore(), FakeStore()
    for store in (a, b):
        for log_id in (LOG, "battrace/log/1"):
            store.seal(log_id, 9)
            store.checkpoint(log_id)
    b.entries["battrace/log/1"] = [b"other " + e for e in b.entries["battrace/log/1"]]  # same id, other log
    for round_ in range(2):
        for store in (a, b):
            for log_id in (LOG, "battrace/log/1"):
                for i in range(9):
                    check(store, log_id, i)
                # A shared tree would be rebuilt on every switch; its own is read once, then only proved entries.
                assert store.entries_read() == (9 + 9 if round_ == 0 else 9)


def test_a_rewritten_store_is_read_again() -> None:
    store = FakeStore()
    store.seal(LOG, 12)
    store.checkpoint(LOG)
    check(store, LOG, 3)
    store.entries[LOG] = [b"rewritten " + e for e in store.entries[LOG]]  # root no longer the cached tree's
    store.entries_read()
    check(store, LOG, 3)
    assert store.entries_read() == 12 + 1  # the whole log again, then the proved entry
    check(store, LOG, 4)
    assert store.entries_read() == 1


def test_a_missing_entry_still_raises() -> None:
    store = FakeStore()
    store.seal(LOG, 4)
    store.checkpoint(LOG)
    check(store, LOG, 0)
    store.seal(LOG, 4)
    store.checkpoint(LOG)
    del store.entries[LOG][6:]
    store.sizes[LOG] = [8]
    with pytest.raises(LookupError):
        seal_reference(store, "shipment", f"{LOG}#1", "e")  # type: ignore[arg-type]


def test_the_cache_goes_with_its_client() -> None:
    store = FakeStore()
    store.seal(LOG, 3)
    store.checkpoint(LOG)
    check(store, LOG, 1)
    assert store in seal._trees
    before = len(seal._trees)
    del store
    gc.collect()
    assert len(seal._trees) == before - 1
