"""A witness's home: its own signing key, the log keys it trusts, and the newest tree head it cosigned per log.

A witness is a separate party: it runs from a directory of its own (never the operator's ``$BATTRACE_HOME``), so
nothing the operator can write changes what it remembers or signs with. The layout:

- ``witness.key`` — ``name`` and the base64 Ed25519 seed, mode 0600 (refused if group or others can read it);
- ``logs`` — one ``ORIGIN VERIFIER-KEY`` per line: the logs it witnesses; an origin ending in ``/`` covers every
  origin under it (battrace keeps one log per partition, ``<origin>/<n>``, all signed by one key);
- ``heads/`` — per log, the size and base64 root of the newest tree head it cosigned, replaced atomically (written
  to a temporary file, fsynced, renamed) so a crash leaves the old head or the new one, never neither.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

from battrace.tlog.cosignature import Cosigner
from battrace.tlog.note import InvalidKeyError, Verifier, canonical_b64decode
from battrace.tlog.witness import TreeHead


class WitnessHomeError(Exception):
    """The witness's home is missing, unsafe or malformed; the message names the file and the fix."""


class WitnessHome:
    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def key_path(self) -> Path:
        return self.path / "witness.key"

    @property
    def logs_path(self) -> Path:
        return self.path / "logs"

    def init(self, name: str, logs: dict[str, str]) -> Cosigner:
        """Create the home with a new key; refuses to overwrite an existing key (a witness keeps its identity)."""
        if self.key_path.exists():
            raise WitnessHomeError(f"{self.key_path} exists: this home already has a witness key")
        for origin, vkey in logs.items():
            _pinned(origin, vkey)
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.path, 0o700)
        cosigner = Cosigner.generate(name)
        seed = base64.b64encode(cosigner.seed()).decode()
        _write_atomically(self.key_path, f"{name}\n{seed}\n", mode=0o600)
        _write_atomically(self.logs_path, "".join(f"{o} {k}\n" for o, k in logs.items()), mode=0o600)
        (self.path / "heads").mkdir(mode=0o700, exist_ok=True)
        return cosigner

    def cosigner(self) -> Cosigner:
        if not self.key_path.exists():
            raise WitnessHomeError(f"no witness key at {self.key_path}: run `battrace witness init` first")
        mode = self.key_path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise WitnessHomeError(f"{self.key_path} is readable by others (mode {mode & 0o777:o}): chmod 600 it")
        lines = self.key_path.read_text(encoding="utf-8").splitlines()
        seed = canonical_b64decode(lines[1]) if len(lines) == 2 else None
        if seed is None:
            raise WitnessHomeError(f"{self.key_path} is not 'name' and a base64 seed on two lines")
        try:
            return Cosigner.from_seed(lines[0], seed)
        except InvalidKeyError as e:
            raise WitnessHomeError(f"{self.key_path}: {e}") from None

    def log_keys(self) -> dict[str, list[Verifier]]:
        """Origin (or origin prefix ending in ``/``) -> the log keys pinned for it."""
        pinned: dict[str, list[Verifier]] = {}
        if not self.logs_path.exists():
            raise WitnessHomeError(f"no {self.logs_path}: run `battrace witness init --log ORIGIN=KEY`")
        for number, line in enumerate(self.logs_path.read_text(encoding="utf-8").splitlines(), start=1):
            origin, _, vkey = line.partition(" ")
            try:
                pinned.setdefault(origin, []).append(_pinned(origin, vkey))
            except WitnessHomeError as e:
                raise WitnessHomeError(f"{self.logs_path} line {number}: {e}") from None
        return pinned

    def state(self) -> FileWitnessState:
        return FileWitnessState(self.path / "heads")


class FileWitnessState:
    """battrace.tlog.witness.WitnessState in files, one per origin (named by the origin's SHA-256)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def _file(self, origin: str) -> Path:
        return self._directory / hashlib.sha256(origin.encode()).hexdigest()

    def get(self, origin: str) -> TreeHead | None:
        path = self._file(origin)
        if not path.exists():
            return None
        stored_origin, size, root = path.read_text(encoding="utf-8").splitlines()
        decoded = canonical_b64decode(root)
        if stored_origin != origin or decoded is None or not size.isdigit():
            raise WitnessHomeError(f"{path} does not hold a tree head of {origin}")
        return TreeHead(int(size), decoded)

    def put(self, origin: str, head: TreeHead) -> None:
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        text = f"{origin}\n{head.size}\n{base64.b64encode(head.root).decode()}\n"
        _write_atomically(self._file(origin), text, mode=0o600)


def _pinned(origin: str, vkey: str) -> Verifier:
    if not origin or any(c.isspace() for c in origin):
        raise WitnessHomeError(f"bad log origin {origin!r}")
    try:
        return Verifier.from_key(vkey)
    except InvalidKeyError as e:
        raise WitnessHomeError(f"log key of {origin}: {e}") from None


def _write_atomically(path: Path, text: str, mode: int) -> None:
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def forget_heads(home: WitnessHome) -> None:
    """Forget every tree head the witness cosigned. Only for a demo that starts a new store with the same log
    origins: to a witness that remembers, the new logs are forks, and it would rightly refuse them."""
    heads = home.path / "heads"
    for path in heads.glob("*") if heads.is_dir() else ():
        path.unlink()
