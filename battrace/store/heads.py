"""A log's heads (schemas/heads.py) as a tree that follows the log, and rebuilt from the log entries ClickHouse holds.

The worker's checkpointer keeps one :class:`Heads` per log, observes each sealed entry as it is stored and commits
once per checkpoint (only the changed leaves' paths are rehashed, see battrace/tlog/mutable.py); ``battrace verify
--all`` walks the stored entries through one to recompute every checkpoint's heads root; export reads a log's heads
at a checkpoint to prove a bundle's last record is its entity's newest.
"""

from __future__ import annotations

import json

from clickhouse_connect.driver.client import Client

from battrace.store import archive_marks
from battrace.tlog import leaf_hash
from battrace.tlog.mutable import MutableTree
from schemas.heads import head_leaf, heads_line
from schemas.log_entries import SEALED


class Heads:
    """Entity -> (length, chain hash) of its newest sealed entry, in first-appearance order, as an RFC 6962 tree.

    Observations wait in ``pending`` until :meth:`commit` (a checkpoint): an entity sealed many times between two
    checkpoints is encoded and hashed once. ``keep_values``: remember each head's length and chain hash, which
    :meth:`proof` returns (export); the worker does without (about 200 bytes an entity less)."""

    __slots__ = ("_pending", "_positions", "_tree", "_values")

    def __init__(self, keep_values: bool = False) -> None:
        self._tree = MutableTree()
        self._positions: dict[str, int] = {}
        self._values: dict[str, tuple[int, str]] | None = {} if keep_values else None
        self._pending: dict[str, tuple[int, str]] = {}  # insertion order = first appearance among the pending

    def observe(self, entity: str, length: int, chain_hash: str) -> None:
        """The entity's newest sealed entry is now the one of ``length`` (its seq) and ``chain_hash``."""
        self._pending[entity] = (length, chain_hash)

    def observe_entry(self, entry: bytes) -> None:
        """Observe one log entry's bytes (only ``sealed`` entries change a head). Raises ValueError on bytes that
        are not a log entry."""
        obj = json.loads(entry)
        if not isinstance(obj, dict):
            raise ValueError("a log entry is a JSON object")
        if obj.get("kind") == SEALED:
            self.observe(f"{obj['entity_type']}:{obj['entity_id']}", obj["seq"], obj["chain_hash"])

    def commit(self) -> tuple[int, bytes]:
        """Apply what was observed; (count, root) of the heads now."""
        tree, positions, values = self._tree, self._positions, self._values
        for entity, value in self._pending.items():
            h = leaf_hash(head_leaf(entity, *value))
            position = positions.get(entity)
            if position is None:
                positions[entity] = tree.append(h)
            else:
                tree.set(position, h)
            if values is not None:
                values[entity] = value
        self._pending = {}
        return tree.size, tree.root()

    @property
    def committed(self) -> tuple[int, bytes]:
        """(count, root) as of the last commit, leaving what is pending aside."""
        return self._tree.size, self._tree.root()

    def line(self) -> str:
        """Commit, then the checkpoint extension line over the heads."""
        return heads_line(*self.commit())

    def leaves(self) -> list[tuple[int, str, int, str]]:
        """(position, entity, length, chain hash) of every committed head in tree order (an archive's heads, which
        the live store keeps to go on from). Needs ``keep_values``."""
        if self._values is None:
            raise ValueError("these heads do not keep their values: make them with keep_values=True")
        values = self._values
        return sorted((position, entity, *values[entity]) for entity, position in self._positions.items())

    def proof(self, entity: str) -> dict[str, object] | None:
        """The entity's committed head with its inclusion proof (a bundle's ``head`` section), or None. Needs
        ``keep_values``."""
        if self._values is None:
            raise ValueError("these heads do not keep their values: make them with keep_values=True")
        position = self._positions.get(entity)
        if position is None:
            return None
        length, chain_hash = self._values[entity]
        return {
            "index": position,
            "leaf": {"entity": entity, "length": length, "chain_hash": chain_hash},
            "inclusion_proof": [h.hex() for h in self._tree.inclusion_proof(position)],
        }


def stored_heads(client: Client, log_id: str, size: int, keep_values: bool = False) -> Heads:
    """The heads of a log's first ``size`` entries, from the stored entries themselves (ClickHouse parses them):
    committed, as a checkpoint of that size commits to them. A log whose beginning was archived and dropped starts
    from the heads its archive mark keeps (battrace/store/archive_marks.py), then the entries held after it."""
    heads = Heads(keep_values)
    start = _archived_start(client, log_id, size, heads)
    rows = client.query(
        "SELECT concat(JSONExtractString(entry, 'entity_type'), ':', JSONExtractString(entry, 'entity_id')) AS entity,"
        " min(log_index) AS first, argMax(JSONExtractUInt(entry, 'seq'), log_index),"
        " argMax(JSONExtractString(entry, 'chain_hash'), log_index) "
        "FROM battrace.log_entries FINAL "
        "WHERE log_id = {log:String} AND log_index >= {start:UInt64} AND log_index < {size:UInt64} "
        "AND JSONExtractString(entry, 'kind') = {kind:String} "
        "GROUP BY entity ORDER BY first",
        parameters={"log": log_id, "start": start, "size": size, "kind": SEALED},
    ).result_rows
    for entity, _, length, chain_hash in rows:
        heads.observe(entity, length, chain_hash)
    heads.commit()
    return heads


def _archived_start(client: Client, log_id: str, size: int, heads: Heads) -> int:
    """Where the log's held entries start (0, or its archive mark's size when the entries below it were dropped),
    with the archived heads observed and committed into ``heads``."""
    mark = archive_marks.marks(client).get(log_id)
    if mark is None or mark.size > size:
        return 0
    held = client.query(
        "SELECT count() FROM battrace.log_entries WHERE log_id = {log:String} AND log_index = 0",
        parameters={"log": log_id},
    ).result_rows[0][0]
    if held:
        return 0  # archived but not dropped: the entries say it all
    for head in archive_marks.heads(client).get(log_id, []):
        heads.observe(head.entity, head.length, head.chain_hash)
    heads.commit()
    return mark.size
