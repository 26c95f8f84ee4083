"""C2SP tlog-cosignature/v1 with Ed25519 (https://c2sp.org/tlog-cosignature): what a witness adds to a checkpoint.

A witness is a separate party with its own key that cosigns a checkpoint only after checking that it extends the
last one it cosigned for that log. A verifier that requires k of n pinned witnesses on a checkpoint cannot be shown
a forked or rolled-back log unless k witnesses were shown both sides.

The format, from the spec:

- the key ID is ``SHA-256(name || 0x0A || 0x04 || public key)[:4]`` (signature type 0x04);
- the signature line carries ``key ID || u64 big-endian timestamp || Ed25519 signature``;
- the signed message is ``"cosignature/v1\\ntime <timestamp>\\n"`` followed by the whole note text (the checkpoint,
  extension lines included, without the signature lines).

The log's own signature lines use type 0x01 (battrace.tlog.note); the two key types never verify each other's lines,
because their key IDs differ. Written here rather than taken from a library: no maintained Python package
implements the cosignature format, and it is a thin layer over the signed-note code this package already has.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from battrace.tlog.note import (
    InvalidKeyError,
    NoteError,
    Signature,
    canonical_b64decode,
    is_valid_key_name,
    key_id,
    parse_note,
)

SIG_TYPE_COSIGNATURE_V1 = 0x04
HEADER = "cosignature/v1\n"
_MAX_TIMESTAMP = 2**63 - 1
_ED25519_KEY_SIZE = 32
_ED25519_SIGNATURE_SIZE = 64
_TIMESTAMP_SIZE = 8


class NotEnoughCosignatures(NoteError):
    """Fewer pinned witnesses than required cosigned the checkpoint."""

    def __init__(self, required: int, found: tuple[str, ...]) -> None:
        names = ", ".join(found) or "none"
        super().__init__(f"checkpoint needs {required} witness cosignatures, has {len(found)} ({names})")
        self.required = required
        self.found = found


def cosigned_message(text: str, timestamp: int) -> bytes:
    """The bytes a witness signs for ``text`` (a note's text: checkpoint lines, each ending in a newline)."""
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise ValueError(f"timestamp {timestamp} is outside 0..2^63-1")
    if text.count("\n") < 3:
        raise ValueError("a cosigned note has at least the three checkpoint lines")
    return f"{HEADER}time {timestamp}\n{text}".encode()


def cosignature_timestamp(signature: Signature) -> int:
    """The timestamp a cosignature line carries (not verified: see :meth:`WitnessKey.timestamp_of`)."""
    payload = signature.signature
    if len(payload) != _TIMESTAMP_SIZE + _ED25519_SIGNATURE_SIZE:
        raise NoteError(f"{signature.name}: not a cosignature/v1 Ed25519 payload ({len(payload)} bytes)")
    (timestamp,) = struct.unpack(">Q", payload[:_TIMESTAMP_SIZE])
    if timestamp > _MAX_TIMESTAMP:
        raise NoteError(f"{signature.name}: cosignature timestamp beyond 2^63-1")
    return timestamp


@dataclass(frozen=True)
class WitnessKey:
    """A pinned witness: its name, key ID and raw Ed25519 public key."""

    name: str
    key_id: bytes
    public_key: bytes

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise InvalidKeyError(f"invalid witness name {self.name!r}")
        if not isinstance(self.public_key, bytes) or len(self.public_key) != _ED25519_KEY_SIZE:
            raise InvalidKeyError("a witness's Ed25519 public key is 32 bytes")
        if self.key_id != key_id(self.name, self.public_key, SIG_TYPE_COSIGNATURE_V1):
            raise InvalidKeyError(f"key ID does not match witness key {self.name}")
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key)
        except ValueError as e:
            raise InvalidKeyError(f"not an Ed25519 public key: {self.name}") from e

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes) -> WitnessKey:
        return cls(name, key_id(name, public_key, SIG_TYPE_COSIGNATURE_V1), public_key)

    @classmethod
    def from_key(cls, vkey: str) -> WitnessKey:
        """Parse a verifier key ``name+hexkeyid+base64(0x04 || public key)``."""
        if not isinstance(vkey, str) or vkey.count("+") < 2:
            raise InvalidKeyError("witness key must be name+keyid+key")
        name, kid, material = vkey.split("+", 2)
        if len(kid) != 8 or any(c not in "0123456789abcdef" for c in kid):
            raise InvalidKeyError("key ID must be 8 lowercase hex digits")
        raw = canonical_b64decode(material)
        if raw is None or len(raw) != 1 + _ED25519_KEY_SIZE or raw[0] != SIG_TYPE_COSIGNATURE_V1:
            raise InvalidKeyError(f"witness key {name} is not a canonical base64 type-0x04 Ed25519 key")
        return cls(name, bytes.fromhex(kid), raw[1:])

    def to_key(self) -> str:
        material = base64.b64encode(bytes([SIG_TYPE_COSIGNATURE_V1]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    def timestamp_of(self, text: str, signature: Signature) -> int | None:
        """The time this witness cosigned ``text`` with ``signature``, or None if the line is not its valid
        cosignature of that text (another key, a malformed payload, a bad signature)."""
        if (signature.name, signature.key_id) != (self.name, self.key_id):
            return None
        try:
            timestamp = cosignature_timestamp(signature)
            message = cosigned_message(text, timestamp)
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature.signature[_TIMESTAMP_SIZE:], message)
        except (InvalidSignature, NoteError, ValueError):
            return None
        return timestamp


class Cosigner:
    """A witness's signing key. Keep it in the witness's own home; hand out :meth:`key`."""

    __slots__ = ("_private_key", "key_id", "name", "public_key")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not is_valid_key_name(name):
            raise InvalidKeyError(f"invalid witness name {name!r}")
        self.name = name
        self._private_key = private_key
        self.public_key: bytes = private_key.public_key().public_bytes_raw()
        self.key_id: bytes = key_id(name, self.public_key, SIG_TYPE_COSIGNATURE_V1)

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Cosigner:
        if not isinstance(seed, bytes) or len(seed) != _ED25519_KEY_SIZE:
            raise InvalidKeyError("Ed25519 seed must be 32 bytes")
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        return cls(name, Ed25519PrivateKey.generate())

    def seed(self) -> bytes:
        return self._private_key.private_bytes_raw()

    def key(self) -> WitnessKey:
        return WitnessKey(self.name, self.key_id, self.public_key)

    def cosign(self, text: str, timestamp: int) -> Signature:
        """The cosignature line of ``text`` at ``timestamp`` (POSIX seconds)."""
        signature = self._private_key.sign(cosigned_message(text, timestamp))
        return Signature(self.name, self.key_id, struct.pack(">Q", timestamp) + signature)


def add_cosignature(note: str, signature: Signature) -> str:
    """``note`` with one more signature line (a line of the same key is replaced, not repeated)."""
    text, signatures = parse_note(note)
    kept = [s for s in signatures if (s.name, s.key_id) != (signature.name, signature.key_id)]
    return text + "\n" + "".join(s.line() for s in [*kept, signature])


def cosigned_by(note: str | bytes, witnesses: Iterable[WitnessKey]) -> dict[str, int]:
    """Pinned witnesses with a valid cosignature on ``note``, each with the time it signed. Lines of keys that are
    not pinned are ignored, as the spec asks of clients."""
    text, signatures = parse_note(note)
    pinned = {(w.name, w.key_id): w for w in witnesses}
    found: dict[str, int] = {}
    for signature in signatures:
        witness = pinned.get((signature.name, signature.key_id))
        timestamp = witness.timestamp_of(text, signature) if witness else None
        if timestamp is not None:
            found[signature.name] = timestamp
    return found


def require_cosignatures(note: str | bytes, witnesses: Iterable[WitnessKey], required: int) -> dict[str, int]:
    """The cosignatures of :func:`cosigned_by`, or :class:`NotEnoughCosignatures` when fewer than ``required``."""
    found = cosigned_by(note, witnesses)
    if len(found) < required:
        raise NotEnoughCosignatures(required, tuple(sorted(found)))
    return found
