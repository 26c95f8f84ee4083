"""Ask the configured witnesses to cosign a new checkpoint (the log's side of c2sp.org/tlog-witness).

Each witness holds the newest size it cosigned per log. The request carries the size the log believes the witness
holds and a consistency proof from it; a 409 answer names the size the witness really holds (a restarted worker
does not know it, nor does a log whose last submission failed), and the request is sent once more with a proof from
that size. A witness that is down or refuses costs its cosignature, never the checkpoint: the note is published
with the cosignatures it got, and a verifier that requires k of n witnesses says which ones are missing.

httpx rather than urllib: one pooled async client per worker keeps connections alive between checkpoints, as the
spec recommends, without blocking the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx

from battrace.tlog.cosignature import WitnessKey, add_cosignature
from battrace.tlog.note import NoteError, parse_note
from battrace.tlog.witness import format_add_checkpoint

log = logging.getLogger(__name__)
TIMEOUT_S = 5.0

# The consistency proof from an older size of the log to the checkpoint's size (hashes from the store).
ProofFrom = Callable[[int], Awaitable[list[bytes]]]


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness the operator pinned: where its add-checkpoint lives and the key its cosignatures must verify with."""

    url: str  # the submission prefix: POST <url>/add-checkpoint
    key: WitnessKey


@dataclass
class WitnessClient:
    endpoints: Sequence[WitnessEndpoint]
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=TIMEOUT_S))
    # (witness name, log origin) -> the size we believe the witness holds
    held: dict[tuple[str, str], int] = field(default_factory=dict)

    async def cosign(self, note: str, origin: str, size: int, proof_from: ProofFrom) -> str:
        """``note`` with every cosignature the witnesses gave, asked in parallel."""
        answers = await asyncio.gather(*(self._ask(w, note, origin, size, proof_from) for w in self.endpoints))
        for signature_line in answers:
            if signature_line is not None:
                note = add_cosignature(note, signature_line)
        return note

    async def _ask(self, witness: WitnessEndpoint, note: str, origin: str, size: int, proof_from: ProofFrom):
        name = witness.key.name
        old = self.held.get((name, origin), 0)
        try:
            for _ in range(2):  # once as believed, once more from the size a 409 names
                old = min(old, size)
                proof = await proof_from(old) if 0 < old < size else []
                answer = await self.client.post(
                    f"{witness.url}/add-checkpoint", content=format_add_checkpoint(old, proof, note)
                )
                if answer.status_code == 409 and answer.text.strip().isdigit():
                    old = int(answer.text.strip())
                    self.held[(name, origin)] = old
                    continue
                if answer.status_code != 200:
                    log.warning("witness %s refused %s size %d: %s %s", name, origin, size, answer.status_code,
                                answer.text.strip()[:200])  # fmt: skip
                    return None
                self.held[(name, origin)] = size
                return self._cosignature(witness, note, answer.text)
        except httpx.HTTPError as e:
            log.warning("witness %s unreachable for %s size %d: %s", name, origin, size, e)
        return None

    @staticmethod
    def _cosignature(witness: WitnessEndpoint, note: str, body: str):
        """The witness's own valid line from its answer (the spec: ignore lines of other keys)."""
        try:
            text, _ = parse_note(note)
            _, lines = parse_note(text + "\n" + body)
        except NoteError:
            return None
        for line in lines:
            if witness.key.timestamp_of(text, line) is not None:
                return line
        return None

    async def close(self) -> None:
        await self.client.aclose()
