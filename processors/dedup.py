"""Tell a re-sent event id (a duplicate, rejected) from a redelivered message (at-least-once, passed on).

The first acceptance of an event id is remembered with the source coordinates it came from. A later
message with the same source coordinates is a replay of the ingest stage and is passed on: every chain
item carries its source coordinates, and the seal stage recognises an item its entity already applied.
The same event id from other coordinates is a re-sent event: rejected as a duplicate.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    NEW = "new"  # remember it, pass it on
    REDELIVERY = "redelivery"  # pass it on; the seal stage skips what an entity already applied
    DUPLICATE = "duplicate"  # reject


def decide(first: tuple[str, int, int] | None, source: tuple[str, int, int]) -> Verdict:
    """``first``: where the event id was first accepted from (None: never); ``source``: this message."""
    if first is None:
        return Verdict.NEW
    return Verdict.REDELIVERY if tuple(first) == tuple(source) else Verdict.DUPLICATE
