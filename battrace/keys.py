"""The log's signing keys and the verifier keys anyone checks its checkpoints with.

Keys live under ``$BATTRACE_HOME/keys`` (created when a key is first generated or pinned, directories 0700, files
0600; reading keys never creates anything):
``signing/<keyid>.skey`` are the active signers — every checkpoint is signed by all of them, which
is how a rotation works (add the new key, let both sign, then retire the old one);
``retired/<keyid>.vkey`` keep retired public keys so that old checkpoints still verify;
``report/<role>.skey`` (or ``.vkey``) approve traceability reports. Every key file read must belong to
this user and be closed to others: a retired public key decides what verifies as much as an active one,
so a file others could have written is refused like a private key others could have read.
In production ``BATTRACE_SIGNING_KEYS`` supplies signer keys instead of files, and
``BATTRACE_VERIFIER_KEYS`` adds verifier keys (a key from another deployment) and ``BATTRACE_WITNESSES`` pins
the witnesses whose cosignatures the worker asks for and `verify` can require.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from battrace.settings import Settings
from battrace.tlog import InvalidKeyError, Signer, Verifier, generate_signer
from battrace.tlog.cosignature import WitnessKey

SIGNING = "signing"
RETIRED = "retired"
REPORT = "report"  # one key per report-approval role: report/<role>.skey


class KeyConfigError(ValueError):
    """A key file or setting that cannot be used; the message says which and how to fix it."""


def _split(setting: str) -> list[str]:
    return [k.strip() for k in setting.replace("\n", ",").split(",") if k.strip()]


class KeyRing:
    """Signers and verifiers of one deployment, from configuration or from the keys directory."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dir: Path = settings.keys_dir
        self.name = settings.key_name

    # ------------------------------------------------------------------ files

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise key generation between the CLI and worker processes."""
        for d in (self.dir, self.dir / SIGNING, self.dir / RETIRED, self.dir / REPORT):
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o700)
        with open(self.dir / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @staticmethod
    def _write_private(path: Path, text: str) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")

    @staticmethod
    def _read_key_file(path: Path) -> str:
        """The file's key text, once it is known to be this user's and closed to everyone else."""
        st = path.stat()
        if st.st_uid != os.geteuid():
            raise KeyConfigError(
                f"{path} belongs to uid {st.st_uid}, not to this user: `chown` it to this user or remove it"
            )
        if st.st_mode & 0o077:
            raise KeyConfigError(f"{path} is open to other users: run `chmod 600 {path}` (it decides what is trusted)")
        return path.read_text().strip()

    def _load_signers(self) -> list[Signer]:
        signers = []
        for path in sorted((self.dir / SIGNING).glob("*.skey")):
            try:
                signers.append(Signer.from_key(self._read_key_file(path)))
            except InvalidKeyError as exc:
                raise KeyConfigError(f"{path} is not a signer key ({exc}); restore it or retire it") from None
        return signers

    def _load_retired(self) -> list[Verifier]:
        directory = self.dir / RETIRED
        verifiers = []
        for path in sorted(directory.glob("*.vkey")) if directory.is_dir() else []:
            try:
                verifiers.append(Verifier.from_key(self._read_key_file(path)))
            except InvalidKeyError as exc:
                raise KeyConfigError(f"{path} is not a verifier key ({exc}); restore it or remove it") from None
        return verifiers

    # ------------------------------------------------------------------ public

    def signers(self, generate: bool = True) -> list[Signer]:
        """The active signers; with no configuration and no key yet, one is generated (if ``generate``)."""
        if self.settings.signing_keys:
            try:
                return [Signer.from_key(k) for k in _split(self.settings.signing_keys)]
            except InvalidKeyError as exc:
                raise KeyConfigError(f"BATTRACE_SIGNING_KEYS: {exc}; give PRIVATE+KEY+name+keyid+key strings") from None
        if not generate:  # reading only: never creates the keys directory (a read-only command creates nothing)
            return self._load_signers() if (self.dir / SIGNING).is_dir() else []
        with self._locked():
            signers = self._load_signers()
            if not signers:
                signers = [self._generate()]
        return signers

    def _generate(self) -> Signer:
        signer = generate_signer(self.name)
        self._write_private(self.dir / SIGNING / f"{signer.key_id.hex()}.skey", signer.signer_key())
        return signer

    def rotate(self) -> Signer:
        """Add a new active key; both sign until the old one is retired."""
        with self._locked():
            return self._generate()

    def retire(self, key_id: str) -> Verifier:
        """Stop signing with a key; its public half stays trusted for the checkpoints it signed."""
        if not (self.dir / SIGNING).is_dir():  # nothing to retire: refused without creating the keys directory
            raise KeyConfigError(f"no active signing key {key_id!r}: there are no signing keys under {self.dir}")
        with self._locked():
            active = {s.key_id.hex(): s for s in self._load_signers()}
            if key_id not in active:
                raise KeyConfigError(f"no active signing key {key_id!r}; active: {', '.join(active) or 'none'}")
            if len(active) == 1:
                raise KeyConfigError("refusing to retire the only signing key: run `battrace keys rotate` first")
            verifier = active[key_id].verifier()
            retired = self.dir / RETIRED / f"{key_id}.vkey"
            retired.unlink(missing_ok=True)  # left by an interrupted retire: rewritten owner-only
            self._write_private(retired, verifier.to_key())
            (self.dir / SIGNING / f"{key_id}.skey").unlink()
            return verifier

    def report_signer(self, role: str) -> Signer:
        """The key that approves reports in ``role``, created on first use.

        In the demo both roles' keys live here; in production the third-party verifier keeps its own key
        and countersigns elsewhere (battrace.report.signing.add_signature), and only its public key is
        configured here (report/<role>.vkey).
        """
        with self._locked():  # creates keys/report, or repairs it, at 0700
            path = self.dir / REPORT / f"{role}.skey"
            if not path.exists():
                signer = generate_signer(f"{self.name}/report/{role}")
                self._write_private(path, signer.signer_key())
                return signer
            try:
                return Signer.from_key(self._read_key_file(path))
            except InvalidKeyError as exc:
                raise KeyConfigError(f"{path} is not a signer key ({exc}); restore it or remove it") from None

    def pin_report_key(self, role: str, verifier: Verifier) -> Path:
        """Trust ``verifier`` for report approvals in ``role`` (report/<role>.vkey, replacing a pinned one): how
        each party pins the other's key (the operator the co-signer's, the co-signer the manufacturer's QA)."""
        with self._locked():
            path = self.dir / REPORT / f"{role}.vkey"
            fresh = path.with_name(path.name + ".tmp")
            fresh.unlink(missing_ok=True)
            self._write_private(fresh, verifier.to_key())
            fresh.replace(path)
            return path

    def report_verifiers(self) -> dict[str, list[Verifier]]:
        """Per role, the verifier keys trusted for report approvals (from report/<role>.skey or .vkey)."""
        found: dict[str, list[Verifier]] = {}
        directory = self.dir / REPORT
        if not directory.is_dir():
            return found
        try:
            directory.chmod(0o700)  # repaired on every use: it holds the approval roles' private keys
        except OSError as exc:
            raise KeyConfigError(f"cannot restrict {directory} to its owner ({exc.strerror}): `chmod 700` it") from None
        for path in sorted(directory.glob("*.skey")):
            try:
                found.setdefault(path.stem, []).append(Signer.from_key(self._read_key_file(path)).verifier())
            except InvalidKeyError as exc:
                raise KeyConfigError(f"{path} is not a signer key ({exc}); restore it or remove it") from None
        for path in sorted(directory.glob("*.vkey")):
            try:
                found.setdefault(path.stem, []).append(Verifier.from_key(self._read_key_file(path)))
            except InvalidKeyError as exc:
                raise KeyConfigError(f"{path} is not a verifier key ({exc}); restore it or remove it") from None
        return found

    def verifiers(self) -> list[Verifier]:
        """Every key a checkpoint of this deployment may be signed with: active, retired, configured."""
        found: dict[str, Verifier] = {}
        if self.settings.signing_keys:
            found.update((s.verifier_key(), s.verifier()) for s in self.signers())
        elif (self.dir / SIGNING).is_dir():
            found.update((s.verifier_key(), s.verifier()) for s in self._load_signers())
        for verifier in self._load_retired():
            found.setdefault(verifier.to_key(), verifier)
        for verifier in self.configured_verifiers():
            found.setdefault(verifier.to_key(), verifier)
        return list(found.values())

    def configured_verifiers(self) -> list[Verifier]:
        """Only the keys named in BATTRACE_VERIFIER_KEYS (what a bundle verifier pins without --key)."""
        try:
            return [Verifier.from_key(vkey) for vkey in _split(self.settings.verifier_keys)]
        except InvalidKeyError as exc:
            raise KeyConfigError(f"BATTRACE_VERIFIER_KEYS: {exc}; give name+keyid+key strings") from None

    def witnesses(self) -> list[tuple[WitnessKey, str]]:
        """The witnesses of BATTRACE_WITNESSES: each pinned key with its URL ('' for a key pinned to verify only)."""
        found = []
        for vkey, url in self.settings.witness_entries:
            try:
                found.append((WitnessKey.from_key(vkey), url))
            except InvalidKeyError as exc:
                raise KeyConfigError(
                    f"BATTRACE_WITNESSES: {exc}; give each witness's key as `battrace witness key` prints it"
                ) from None
        return found
