"""A witness's decision: cosign a checkpoint only if it extends the last one this witness cosigned for that log.

This is the add-checkpoint step of C2SP tlog-witness (https://c2sp.org/tlog-witness): the request names the size
the submitter believes the witness holds (``old_size``) and a consistency proof from it. The witness

1. verifies the checkpoint's signature with the log key pinned for its origin (an unknown log is refused);
2. refuses a request whose ``old_size`` is not the size it holds (:class:`SizeConflict`, HTTP 409 in the spec,
   carrying the size the witness holds so the submitter can retry with the right proof);
3. refuses a checkpoint smaller than what it holds, or one the proof does not show consistent with it;
4. records the new (size, root) and only then returns its cosignature.

Step 4's order is the point: a witness that signed first and recorded after could be made to cosign two forks.
The state lives in the witness's own home, never in the operator's store (:class:`WitnessState`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from battrace.tlog.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from battrace.tlog.cosignature import Cosigner
from battrace.tlog.note import NoteError, Signature, Verifier, parse_note
from battrace.tlog.proof import verify_consistency
from battrace.tlog.rfc6962 import EMPTY_ROOT


class WitnessRefusal(Exception):
    """The witness will not cosign this checkpoint; the message says why."""


class UnknownLog(WitnessRefusal):
    """No log key is pinned for the checkpoint's origin, or none verified it."""


class SizeConflict(WitnessRefusal):
    """``old_size`` is not the size the witness holds for the log."""

    def __init__(self, origin: str, held: int, claimed: int) -> None:
        super().__init__(f"{origin}: the witness holds size {held}, the request assumes {claimed}")
        self.held = held


class Inconsistent(WitnessRefusal):
    """The checkpoint does not extend the tree head the witness holds."""


@dataclass(frozen=True)
class TreeHead:
    size: int
    root: bytes


class WitnessState(Protocol):
    """The newest tree head cosigned per log origin; ``put`` must be durable before it returns."""

    def get(self, origin: str) -> TreeHead | None: ...

    def put(self, origin: str, head: TreeHead) -> None: ...


class Witness:
    def __init__(
        self,
        cosigner: Cosigner,
        log_keys: Mapping[str, Iterable[Verifier]],
        state: WitnessState,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cosigner = cosigner
        self._log_keys = {origin: list(keys) for origin, keys in log_keys.items()}
        self._state = state
        self._clock = clock

    def add_checkpoint(self, note: str, old_size: int, proof: Sequence[bytes]) -> Signature:
        """The cosignature of ``note`` if it extends what this witness holds; else a :class:`WitnessRefusal`."""
        checkpoint = self._open(note)
        held = self._state.get(checkpoint.origin) or TreeHead(0, EMPTY_ROOT)
        if old_size != held.size:
            raise SizeConflict(checkpoint.origin, held.size, old_size)
        if checkpoint.size < held.size:
            raise Inconsistent(f"{checkpoint.origin}: size {checkpoint.size} is older than the held {held.size}")
        if not verify_consistency(held.size, checkpoint.size, proof, held.root, checkpoint.root):
            raise Inconsistent(
                f"{checkpoint.origin}: size {checkpoint.size} is not consistent with the held size {held.size}"
            )
        self._state.put(checkpoint.origin, TreeHead(checkpoint.size, checkpoint.root))
        text, _ = parse_note(note)
        return self.cosigner.cosign(text, int(self._clock()))

    def _open(self, note: str) -> Checkpoint:
        try:
            text, _ = parse_note(note)
            origin = Checkpoint.parse(text).origin
        except (NoteError, CheckpointError) as e:
            raise WitnessRefusal(f"not a checkpoint: {e}") from None
        keys = self._log_keys.get(origin)
        if not keys:
            raise UnknownLog(f"no log key is pinned for {origin}")
        try:
            return open_checkpoint(note, keys, origin)
        except (NoteError, CheckpointError) as e:
            raise UnknownLog(f"{origin}: the log's signature does not verify ({e})") from None
