"""Which trusted keys signed a checkpoint: what an operator reads to follow a key rotation through the logs.

A checkpoint is signed by every active key (battrace/keys.py), so during a rotation its note carries the old
key and the new one; once the old key is retired, only the new one. Listing the key ids whose signatures
verify (not the ids the note merely names) shows which keys a verifier actually relied on.
"""

from __future__ import annotations

from collections.abc import Sequence

from battrace.tlog import NoteError, Verifier, verify_note


def signing_key_ids(note: str, verifiers: Sequence[Verifier]) -> list[str]:
    """Hex key ids of the trusted keys whose signatures on ``note`` verify, in note order; [] if none do."""
    try:
        return [sig.key_id.hex() for sig in verify_note(note, verifiers).signatures]
    except NoteError:
        return []
