"""A witness's decision: cosign a checkpoint only if it extends the last one this witness cosigned for that log.

This is the add-checkpoint step of C2SP tlog-witness (https://c2sp.org/tlog-witness): the request names the size
the submitter believes the witness holds (``old_size``) and a consistency proof from it. The witness

1. verifies the checkpoint's signature with the log key pinned for its origin (an unknown origin: 404; no pinned
   key verified it: 403);
2. refuses an ``old_size`` above the checkpoint's size (400) or a proof of more than 63 hashes (400);
3. refuses a request whose ``old_size`` is not the size it holds, or a checkpoint of the held size with another root
   (409, carrying the size the witness holds so the submitter can retry with the right proof);
4. refuses a proof that does not show the checkpoint consistent with what it holds (422);
5. records the new (size, root) and only then returns its cosignature; steps 3 to 5 hold one lock, so two requests
   cannot both pass the check and roll the record back (the race the spec describes).

Each refusal carries the HTTP status the spec gives it. The state lives in the witness's own home, never in the
operator's store (:class:`WitnessState`).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from battrace.tlog.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from battrace.tlog.cosignature import Cosigner
from battrace.tlog.note import NoteError, Signature, Verifier, canonical_b64decode, parse_note
from battrace.tlog.proof import verify_consistency
from battrace.tlog.rfc6962 import EMPTY_ROOT

MAX_PROOF_HASHES = 63


class WitnessRefusal(Exception):
    """The witness will not cosign this checkpoint; the message says why, ``status`` is the spec's HTTP status."""

    status = 400


class UnknownLog(WitnessRefusal):
    """No log key is pinned for the checkpoint's origin."""

    status = 404


class UnverifiedCheckpoint(WitnessRefusal):
    """None of the pinned log keys verified the checkpoint's signatures."""

    status = 403


class SizeConflict(WitnessRefusal):
    """``old_size`` is not the size the witness holds, or the held size comes with another root."""

    status = 409

    def __init__(self, message: str, held: int) -> None:
        super().__init__(message)
        self.held = held


class Inconsistent(WitnessRefusal):
    """The proof does not show the checkpoint extending the tree head the witness holds."""

    status = 422


@dataclass(frozen=True)
class TreeHead:
    size: int
    root: bytes


class WitnessState(Protocol):
    """The newest tree head cosigned per log origin; ``put`` must be durable before it returns."""

    def get(self, origin: str) -> TreeHead | None: ...

    def put(self, origin: str, head: TreeHead) -> None: ...


def keys_by_origin(pinned: Mapping[str, Iterable[Verifier]]) -> Callable[[str], list[Verifier]]:
    """The log keys for an origin: pinned for it exactly, or under the longest pinned prefix ending in ``/`` (one
    key can sign a family of logs, as battrace's one log per partition, ``<origin>/<n>``)."""
    table = {origin: list(keys) for origin, keys in pinned.items()}

    def keys_for(origin: str) -> list[Verifier]:
        if origin in table and not origin.endswith("/"):  # a prefix is not itself a log
            return table[origin]
        prefixes = [p for p in table if p.endswith("/") and origin.startswith(p) and len(origin) > len(p)]
        return table[max(prefixes, key=len)] if prefixes else []

    return keys_for


class Witness:
    def __init__(
        self,
        cosigner: Cosigner,
        log_keys: Mapping[str, Iterable[Verifier]],
        state: WitnessState,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cosigner = cosigner
        self._keys_for = keys_by_origin(log_keys)
        self._state = state
        self._clock = clock
        self._lock = threading.Lock()

    def add_checkpoint(self, note: str, old_size: int, proof: Sequence[bytes]) -> Signature:
        """The cosignature of ``note`` if it extends what this witness holds; else a :class:`WitnessRefusal`."""
        checkpoint = self._open(note)
        origin = checkpoint.origin
        if old_size > checkpoint.size:
            raise WitnessRefusal(f"{origin}: old size {old_size} is above the checkpoint's size {checkpoint.size}")
        if len(proof) > MAX_PROOF_HASHES or (old_size == 0 and proof):
            raise WitnessRefusal(f"{origin}: a consistency proof has at most 63 hashes, none from size 0")
        with self._lock:
            held = self._state.get(origin) or TreeHead(0, EMPTY_ROOT)
            if old_size != held.size:
                raise SizeConflict(f"{origin}: the witness holds size {held.size}, not {old_size}", held.size)
            if checkpoint.size == held.size and checkpoint.root != held.root:
                raise SizeConflict(f"{origin}: size {held.size} is held with another root (a fork)", held.size)
            if not verify_consistency(held.size, checkpoint.size, proof, held.root, checkpoint.root):
                raise Inconsistent(f"{origin}: size {checkpoint.size} is not consistent with the held {held.size}")
            self._state.put(origin, TreeHead(checkpoint.size, checkpoint.root))
        text, _ = parse_note(note)
        return self.cosigner.cosign(text, int(self._clock()))

    def _open(self, note: str) -> Checkpoint:
        try:
            text, _ = parse_note(note)
            origin = Checkpoint.parse(text).origin
        except (NoteError, CheckpointError) as e:
            raise WitnessRefusal(f"not a checkpoint: {e}") from None
        keys = self._keys_for(origin)
        if not keys:
            raise UnknownLog(f"no log key is pinned for {origin}")
        try:
            return open_checkpoint(note, keys, origin)
        except (NoteError, CheckpointError) as e:
            raise UnverifiedCheckpoint(f"{origin}: no pinned log key verifies the checkpoint ({e})") from None


def parse_add_checkpoint(body: bytes) -> tuple[int, list[bytes], str]:
    """(old size, consistency proof, checkpoint note) of an add-checkpoint request body."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessRefusal("the request body is not UTF-8") from None
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or not lines[0].startswith("old "):
        raise WitnessRefusal("the body must be 'old <size>', proof lines, an empty line, then the checkpoint")
    size = lines[0][4:]
    if not (size == "0" or (size.isascii() and size.isdigit() and size[0] != "0" and len(size) <= 20)):
        raise WitnessRefusal(f"bad old size {size!r}")
    proof = [canonical_b64decode(line) for line in lines[1:]]
    if len(proof) > MAX_PROOF_HASHES or any(h is None or len(h) != 32 for h in proof):
        raise WitnessRefusal("proof lines must be at most 63 base64 SHA-256 hashes")
    return int(size), [h for h in proof if h is not None], note


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """The add-checkpoint request body (what a log sends a witness)."""
    lines = [f"old {old_size}", *(base64.b64encode(h).decode() for h in proof)]
    return ("\n".join(lines) + "\n\n" + note).encode()
