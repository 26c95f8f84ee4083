"""A witness's state (the newest tree head it cosigned per log) held in memory, for tests of the witness protocol
that need no disk (battrace/stack/witness.py keeps it in a file)."""

from __future__ import annotations

from battrace.tlog.witness import TreeHead


class MemoryWitnessState:
    def __init__(self) -> None:
        self.heads: dict[str, TreeHead] = {}

    def get(self, origin: str) -> TreeHead | None:
        return self.heads.get(origin)

    def put(self, origin: str, head: TreeHead) -> None:
        self.heads[origin] = head
