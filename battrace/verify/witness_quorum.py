"""k of n pinned witnesses must have cosigned a checkpoint a verifier relies on (C2SP tlog-cosignature).

The log's own signature shows who published a checkpoint; witness cosignatures show that parties with their own
keys saw it extend what they had seen before. A verifier that requires k of them cannot be shown a forked or
rolled-back log unless k witnesses were shown both sides. Only pinned witness keys count, each witness (by name)
at most once however many lines it has on the note, and only a cosignature whose key ID, signature and timestamp
check out (battrace.tlog.cosignature); a cosignature dated ahead of the verifier's clock is not counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from battrace.tlog.cosignature import WitnessKey, cosigned_by
from battrace.tlog.note import NoteError

# How far a cosignature's timestamp may lie ahead of the verifier's clock (clock skew between the two machines).
FUTURE_SKEW_S = 600


class QuorumConfigError(ValueError):
    """The requirement cannot be met by the pinned witnesses whatever the checkpoint (the message says the fix)."""


@dataclass(frozen=True)
class WitnessQuorum:
    """``required`` cosignatures out of the pinned ``witnesses`` (distinct names)."""

    witnesses: tuple[WitnessKey, ...]
    required: int
    clock: Callable[[], float] = field(default=time.time, compare=False)

    def __post_init__(self) -> None:
        names = {w.name for w in self.witnesses}
        if self.required < 0:
            raise QuorumConfigError("the number of witness cosignatures required cannot be negative")
        if self.required > len(names):
            raise QuorumConfigError(
                f"{self.required} witness cosignatures required but {len(names)} witness(es) pinned; "
                "pin more witness keys or require fewer"
            )

    @classmethod
    def of(cls, keys: Sequence[WitnessKey], required: int) -> WitnessQuorum:
        return cls(tuple(keys), required)

    @property
    def names(self) -> list[str]:
        return sorted({w.name for w in self.witnesses})

    def cosigners(self, note: str | bytes) -> dict[str, int]:
        """Pinned witnesses whose valid cosignature ``note`` carries, with the time each signed; malformed input
        gives {} (callers name what is missing)."""
        try:
            found = cosigned_by(note, self.witnesses)
        except (NoteError, TypeError, ValueError, AttributeError, RecursionError):  # hostile notes of any shape
            return {}
        latest = self.clock() + FUTURE_SKEW_S
        return {name: ts for name, ts in found.items() if ts <= latest}

    def problem(self, note: str | bytes) -> str | None:
        """Why ``note`` falls short of the quorum (naming the missing witnesses), or None if it meets it."""
        if self.required == 0:
            return None
        found = self.cosigners(note)
        if len(found) >= self.required:
            return None
        missing = [name for name in self.names if name not in found]
        return f"{len(found)} of the {self.required} required witness cosignatures; missing: {', '.join(missing)}"
