"""C2SP signed notes with Ed25519 (https://c2sp.org/signed-note).

A signed note is the envelope for a checkpoint: text, a blank line, then one
line per signature. Using the same format and key strings as Go's
``golang.org/x/mod/sumdb/note`` means auditors can verify battery seals with
stock tooling, and keys can be moved between implementations.

Parsing is deliberately stricter than the spec's minimum where that removes
ambiguity: base64 must be canonical and key IDs lowercase hex. Repeated signatures
are dropped as the reference does (``Open`` in golang.org/x/mod/sumdb/note/note.go):
an identical line twice counts once, and of several signatures by one known key
only the first is verified and kept. Errors on a note are always a
:class:`NoteError`; errors in *configured* keys are :class:`InvalidKeyError`
(a ``ValueError``), so a broken configuration is never mistaken for a bad note.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIG_TYPE_ED25519 = 0x01
MAX_SIGNATURES = 100
"""Signature lines accepted per note (the spec requires at least 16; Go allows 100)."""

_SIG_PREFIX = "\u2014 "  # em dash, space
_KEY_ID_SIZE = 4
_ED25519_KEY_SIZE = 32


# --------------------------------------------------------------------------- errors


class NoteError(Exception):
    """A note could not be accepted."""


class MalformedNoteError(NoteError, ValueError):
    """The note violates the signed-note syntax."""


class UnverifiedNoteError(NoteError):
    """No signature from a known key is present (unknown ones were ignored)."""

    def __init__(self, unknown: tuple[Signature, ...]) -> None:
        super().__init__("note has no signature from a known key")
        self.unknown = unknown


class InvalidSignatureError(NoteError):
    """A signature from a known key failed to verify; the whole note is rejected, as the spec advises."""

    def __init__(self, name: str, key_id: bytes) -> None:
        super().__init__(f"invalid signature for key {name}+{key_id.hex()}")
        self.name = name
        self.key_id = key_id


class InvalidKeyError(ValueError):
    """A verifier or signer key string (configuration, not input) is malformed."""


# --------------------------------------------------------------------------- keys


def is_valid_key_name(name: object) -> bool:
    """Key names are non-empty, without '+', Unicode spaces or control characters."""
    return (
        isinstance(name, str)
        and name != ""
        and "+" not in name
        and _is_utf8(name)
        and not any(c.isspace() or c < " " for c in name)
    )


def key_id(name: str, public_key: bytes, sig_type: int = SIG_TYPE_ED25519) -> bytes:
    """SHA-256(name || 0x0A || sig_type || public_key)[:4], as the spec recommends."""
    data = name.encode() + b"\n" + bytes([sig_type]) + public_key
    return hashlib.sha256(data).digest()[:_KEY_ID_SIZE]


@dataclass(frozen=True)
class Verifier:
    """An Ed25519 verifier key: name, 4-byte key ID and raw 32-byte public key."""

    name: str
    key_id: bytes
    public_key: bytes

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise InvalidKeyError(f"invalid key name {self.name!r}")
        if not isinstance(self.public_key, bytes) or len(self.public_key) != _ED25519_KEY_SIZE:
            raise InvalidKeyError("Ed25519 public key must be 32 bytes")
        if self.key_id != key_id(self.name, self.public_key):
            raise InvalidKeyError(f"key ID does not match key {self.name}")
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key)
        except ValueError as e:
            raise InvalidKeyError(f"not an Ed25519 public key: {self.name}") from e

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes | Ed25519PublicKey) -> Verifier:
        raw = public_key.public_bytes_raw() if isinstance(public_key, Ed25519PublicKey) else public_key
        if not is_valid_key_name(name):
            raise InvalidKeyError(f"invalid key name {name!r}")
        if not isinstance(raw, bytes) or len(raw) != _ED25519_KEY_SIZE:
            raise InvalidKeyError("Ed25519 public key must be 32 bytes")
        return cls(name, key_id(name, raw), raw)

    @classmethod
    def from_key(cls, vkey: str) -> Verifier:
        """Parse ``name+hexkeyid+base64(0x01 || public key)``."""
        if not isinstance(vkey, str):
            raise InvalidKeyError("verifier key must be a string")
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise InvalidKeyError("verifier key must be name+keyid+key")
        name, kid, material = parts
        return cls(name, _parse_key_id(kid), _parse_key_material(material))

    def to_key(self) -> str:
        """The C2SP verifier key string."""
        return _vkey(self.name, self.key_id, self.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


class Signer:
    """An Ed25519 note signer. Keep it secret; hand out :meth:`verifier_key`."""

    __slots__ = ("_private_key", "key_id", "name", "public_key")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not is_valid_key_name(name):
            raise InvalidKeyError(f"invalid key name {name!r}")
        if not isinstance(private_key, Ed25519PrivateKey):
            raise InvalidKeyError("private key must be an Ed25519PrivateKey")
        self.name = name
        self._private_key = private_key
        self.public_key: bytes = private_key.public_key().public_bytes_raw()
        self.key_id: bytes = key_id(name, self.public_key)

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Signer:
        """Build from the 32-byte RFC 8032 private key seed."""
        if not isinstance(seed, bytes) or len(seed) != _ED25519_KEY_SIZE:
            raise InvalidKeyError("Ed25519 seed must be 32 bytes")
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_key(cls, skey: str) -> Signer:
        """Parse a Go-note signer key ``PRIVATE+KEY+name+hexkeyid+base64(0x01 || seed)``."""
        if not isinstance(skey, str):
            raise InvalidKeyError("signer key must be a string")
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
            raise InvalidKeyError("signer key must be PRIVATE+KEY+name+keyid+key")
        _, _, name, kid, material = parts
        if not is_valid_key_name(name):
            raise InvalidKeyError(f"invalid key name {name!r}")
        want_id = _parse_key_id(kid)
        signer = cls.from_seed(name, _parse_key_material(material))
        if signer.key_id != want_id:
            raise InvalidKeyError(f"key ID does not match key {name}")
        return signer

    def signer_key(self) -> str:
        """The Go-note signer key string (contains the private seed)."""
        seed = self._private_key.private_bytes_raw()
        material = base64.b64encode(bytes([SIG_TYPE_ED25519]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{material}"

    def verifier_key(self) -> str:
        """The C2SP verifier key string ``name+hexkeyid+base64(0x01 || public key)``."""
        return _vkey(self.name, self.key_id, self.public_key)

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.key_id, self.public_key)

    def sign(self, message: bytes) -> bytes:
        """Raw 64-byte Ed25519 signature over ``message``."""
        return self._private_key.sign(message)

    def __repr__(self) -> str:
        return f"Signer({self.verifier_key()!r})"


def generate_signer(name: str) -> Signer:
    """A fresh random Ed25519 signer."""
    return Signer(name, Ed25519PrivateKey.generate())


def _vkey(name: str, kid: bytes, public_key: bytes) -> str:
    return f"{name}+{kid.hex()}+{base64.b64encode(bytes([SIG_TYPE_ED25519]) + public_key).decode()}"


def _parse_key_id(kid: str) -> bytes:
    if len(kid) != 2 * _KEY_ID_SIZE or any(c not in "0123456789abcdef" for c in kid):
        raise InvalidKeyError("key ID must be 8 lowercase hex digits")
    return bytes.fromhex(kid)


def _parse_key_material(material: str) -> bytes:
    raw = canonical_b64decode(material)
    if raw is None or len(raw) == 0:
        raise InvalidKeyError("key material must be canonical base64")
    if raw[0] != SIG_TYPE_ED25519:
        raise InvalidKeyError(f"unsupported signature type 0x{raw[0]:02x}")
    if len(raw) != 1 + _ED25519_KEY_SIZE:
        raise InvalidKeyError("Ed25519 key must be 32 bytes")
    return raw[1:]


# --------------------------------------------------------------------------- notes


@dataclass(frozen=True)
class Signature:
    """One signature line: key name, 4-byte key ID and the raw signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{_SIG_PREFIX}{self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


@dataclass(frozen=True)
class VerifiedNote:
    """The text of a note plus which known keys vouched for it."""

    text: str
    signatures: tuple[Signature, ...]
    unknown: tuple[Signature, ...] = ()
    """Well-formed signatures from keys the caller did not supply (e.g. witnesses)."""

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the keys whose signatures verified, in note order."""
        return tuple(s.name for s in self.signatures)


def sign_note(text: str, signers: Signer | Iterable[Signer]) -> str:
    """Sign ``text`` (which must end in a newline) with one or more signers."""
    _check_text(text, "note text")
    if not text.endswith("\n"):
        raise MalformedNoteError("note text must end with a newline")
    chosen: dict[tuple[str, bytes], Signer] = {}
    for s in [signers] if isinstance(signers, Signer) else list(signers):
        if not isinstance(s, Signer):
            raise TypeError(f"not a Signer: {s!r}")
        chosen.setdefault((s.name, s.key_id), s)
    if not chosen:
        raise ValueError("a signed note needs at least one signer")
    if len(chosen) > MAX_SIGNATURES:
        raise ValueError(f"at most {MAX_SIGNATURES} signatures per note")
    message = text.encode()
    lines = [Signature(s.name, s.key_id, s.sign(message)).line() for s in chosen.values()]
    return text + "\n" + "".join(lines)


def verify_note(note: str | bytes, verifier_keys: str | Verifier | Iterable[str | Verifier]) -> VerifiedNote:
    """Open a signed note, verifying every signature from a known key.

    Signatures from unknown keys are ignored (and reported in ``.unknown``).
    Raises :class:`MalformedNoteError` on bad syntax, :class:`InvalidSignatureError`
    if a known key's signature is bad, :class:`UnverifiedNoteError` if no known
    key signed, and :class:`InvalidKeyError` if ``verifier_keys`` is itself bad.
    """
    known = _verifier_map(verifier_keys)
    text, sigs = parse_note(note)
    verified: list[Signature] = []
    unknown: list[Signature] = []
    seen: set[tuple[str, bytes]] = set()
    message = text.encode()
    for sig in sigs:
        v = known.get((sig.name, sig.key_id))
        if v is None:
            unknown.append(sig)
            continue
        if (sig.name, sig.key_id) in seen:
            continue  # the reference drops repeated signatures by a single verifier, unverified
        seen.add((sig.name, sig.key_id))
        if not v.verify(message, sig.signature):
            raise InvalidSignatureError(sig.name, sig.key_id)
        verified.append(sig)
    if not verified:
        raise UnverifiedNoteError(tuple(unknown))
    return VerifiedNote(text, tuple(verified), tuple(unknown))


def note_verifies(note: str | bytes, verifier_keys: str | Verifier | Iterable[str | Verifier]) -> bool:
    """Boolean form of :func:`verify_note`. Bad *keys* still raise InvalidKeyError."""
    try:
        verify_note(note, verifier_keys)
    except NoteError:
        return False
    return True


def parse_note(note: str | bytes) -> tuple[str, tuple[Signature, ...]]:
    """Split a note into text and signature lines, checking syntax only (no crypto)."""
    if isinstance(note, (bytes, bytearray, memoryview)):
        try:
            note = bytes(note).decode("utf-8")
        except UnicodeDecodeError as e:
            raise MalformedNoteError("note is not valid UTF-8") from e
    if not isinstance(note, str):
        raise MalformedNoteError("note must be str or bytes")
    _check_text(note, "note")
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise MalformedNoteError("note has no signature lines, or they do not end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError(f"note has more than {MAX_SIGNATURES} signatures")
    sigs: list[Signature] = []
    for line in lines:
        sig = _parse_signature_line(line)
        if sig not in sigs:  # an identical line again counts once (the reference drops it)
            sigs.append(sig)
    return text, tuple(sigs)


def _parse_signature_line(line: str) -> Signature:
    if not line.startswith(_SIG_PREFIX):
        raise MalformedNoteError("signature line must start with an em dash and a space")
    name, sep, b64 = line[len(_SIG_PREFIX) :].partition(" ")
    if not sep or not is_valid_key_name(name):
        raise MalformedNoteError(f"bad key name in signature line {line!r}")
    raw = canonical_b64decode(b64)
    if raw is None or len(raw) <= _KEY_ID_SIZE:
        raise MalformedNoteError(f"bad signature encoding for key {name}")
    return Signature(name, raw[:_KEY_ID_SIZE], raw[_KEY_ID_SIZE:])


def _verifier_map(keys: str | Verifier | Iterable[str | Verifier]) -> dict[tuple[str, bytes], Verifier]:
    items = [keys] if isinstance(keys, (str, Verifier)) else list(keys)
    out: dict[tuple[str, bytes], Verifier] = {}
    for k in items:
        v = k if isinstance(k, Verifier) else Verifier.from_key(k)
        prev = out.setdefault((v.name, v.key_id), v)
        if prev != v:
            raise InvalidKeyError(f"ambiguous key {v.name}+{v.key_id.hex()}")
    return out


def _check_text(s: str, what: str) -> None:
    if not isinstance(s, str):
        raise MalformedNoteError(f"{what} must be a str")
    if not _is_utf8(s):
        raise MalformedNoteError(f"{what} is not valid UTF-8")
    if any(c < " " and c != "\n" for c in s):
        raise MalformedNoteError(f"{what} contains a control character")


def _is_utf8(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def canonical_b64decode(s: str) -> bytes | None:
    """Strict RFC 4648 §4 base64 (padded, canonical trailing bits), or None.

    Accepting exactly one encoding per value keeps notes and checkpoints non-malleable.
    """
    try:
        raw = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode() == s else None
