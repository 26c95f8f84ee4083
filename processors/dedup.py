"""Tell a re-sent event id (a duplicate, rejected) from a redelivered message (at-least-once, passed on).

The first acceptance of an event id is remembered with the source coordinates it came from and the
trace.accepted coordinates it was first seen at. A later message with the same source coordinates is a
replay of upstream stages, however many new trace.accepted offsets it got: it is forwarded under the
*first* trace.accepted coordinates, so the seal stage recognises it as already applied.
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
    accepted_at: tuple[int, int]  # coordinates the seal stage keys its replay check on
    remember: dict[str, Any] | None  # the table entry to store, for a first acceptance


def decide(first: dict[str, Any] | None, source: tuple[str, int, int], here: tuple[int, int]) -> Decision:
    if first is None:
        return Decision(Verdict.NEW, here, {"source": list(source), "accepted_at": list(here)})
    first_at = (first["accepted_at"][0], first["accepted_at"][1])
    if tuple(first["source"]) == tuple(source):
        return Decision(Verdict.REDELIVERY, first_at, None)
    return Decision(Verdict.DUPLICATE, first_at, None)
