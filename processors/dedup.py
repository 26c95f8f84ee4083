"""Tell a re-sent event id (a duplicate, rejected) from a redelivered message (at-least-once, passed on).

The first acceptance of an event id is remembered with the source coordinates it came from. A later
message with the same source coordinates is a replay of the ingest stage and is passed on: every chain
item carries its source coordinates, and the seal stage recognises an item its entity already applied.
The same event id from other coordinates is a re-sent event: rejected as a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    NEW = "new"
    REDELIVERY = "redelivery"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    remember: dict[str, Any] | None  # the table entry to store, for a first acceptance


def decide(first: dict[str, Any] | None, source: tuple[str, int, int]) -> Decision:
    if first is None:
        return Decision(Verdict.NEW, {"source": list(source)})
    if tuple(first["source"]) == tuple(source):
        return Decision(Verdict.REDELIVERY, None)
    return Decision(Verdict.DUPLICATE, None)
