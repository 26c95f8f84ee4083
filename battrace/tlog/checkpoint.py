"""C2SP transparency-log checkpoints (https://c2sp.org/tlog-checkpoint).

A checkpoint is the signed statement "log <origin> had <size> leaves with root
<hash>". It is what a battery record's inclusion proof is checked against, and
what consistency proofs link over time, so parsing is strict: exactly one
textual form is accepted for each checkpoint.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass

from battrace.tlog.note import Signer, Verifier, canonical_b64decode, sign_note, verify_note
from battrace.tlog.rfc6962 import HASH_SIZE, MAX_TREE_SIZE


class CheckpointError(ValueError):
    """Checkpoint text that does not follow tlog-checkpoint, or has an unexpected origin."""


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin line, tree size, RFC 6962 root, optional extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin or not _is_line(self.origin):
            raise CheckpointError("origin must be a non-empty single line")
        if type(self.size) is not int or not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"size must be an integer in [0, 2**64), got {self.size!r}")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise CheckpointError(f"root must be {HASH_SIZE} bytes")
        if not isinstance(self.extensions, tuple):
            raise CheckpointError("extensions must be a tuple of lines")
        for ext in self.extensions:
            if not isinstance(ext, str) or not ext or not _is_line(ext):
                raise CheckpointError("extension lines must be non-empty single lines")

    def to_text(self) -> str:
        """The note text: origin, size, base64 root and extensions, each ending in a newline."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse checkpoint note text, accepting only the canonical encoding."""
        if not isinstance(text, str):
            raise CheckpointError("checkpoint text must be a str")
        if not text.endswith("\n"):
            raise CheckpointError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("checkpoint needs origin, size and root lines")
        origin, size_s, root_s, *extensions = lines
        if not origin:
            raise CheckpointError("empty origin")
        if not _is_canonical_decimal(size_s):
            raise CheckpointError(f"bad tree size {size_s!r}")
        size = int(size_s)
        if size > MAX_TREE_SIZE:
            raise CheckpointError("tree size exceeds 2**64 - 1")
        root = canonical_b64decode(root_s)
        if root is None or len(root) != HASH_SIZE:
            raise CheckpointError(f"root must be canonical base64 of {HASH_SIZE} bytes")
        if any(not e for e in extensions):
            raise CheckpointError("empty extension line")
        return cls(origin, size, root, tuple(extensions))


def sign_checkpoint(cp: Checkpoint, signers: Signer | Iterable[Signer]) -> str:
    """Sign ``cp`` as a note. The log's key name SHOULD equal the origin (spec)."""
    return sign_note(cp.to_text(), signers)


def open_checkpoint(
    note: str | bytes,
    verifier_keys: str | Verifier | Iterable[str | Verifier],
    origin: str | None = None,
) -> Checkpoint:
    """Verify a signed checkpoint and parse it.

    ``verifier_keys`` should be the log's key(s): any one of them verifying is
    enough (witness quorum policy is the caller's business). Raises a
    :class:`~battrace.tlog.note.NoteError` for signature problems and
    :class:`CheckpointError` for a bad body or an origin other than ``origin``.
    """
    verified = verify_note(note, verifier_keys)
    cp = Checkpoint.parse(verified.text)
    if origin is not None and cp.origin != origin:
        raise CheckpointError(f"checkpoint origin {cp.origin!r} is not the expected {origin!r}")
    return cp


def _is_line(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(c < " " for c in s)


def _is_canonical_decimal(s: str) -> bool:
    # ASCII digits only (str.isdigit would accept e.g. Arabic-Indic digits), no sign, no leading zeros.
    # Length-capped before int() so hostile input cannot trip Python's int/str conversion limit.
    return 0 < len(s) <= 20 and all("0" <= c <= "9" for c in s) and (s == "0" or s[0] != "0")
