"""Signing keys: created on first use with owner-only permissions, rotated, retired, configured."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from battrace.keys import KeyConfigError, KeyRing
from battrace.settings import Settings
from battrace.tlog import Checkpoint, generate_signer, open_checkpoint, sign_checkpoint


def ring(home: Path, **kw: str) -> KeyRing:
    return KeyRing(Settings(home=home, **kw))


def test_first_use_creates_one_owner_only_key_and_reuses_it(tmp_path: Path) -> None:
    keys = ring(tmp_path)
    assert keys.verifiers() == [] and keys.signers(generate=False) == []
    (first,) = keys.signers()
    (again,) = ring(tmp_path).signers()
    assert first.verifier_key() == again.verifier_key()
    path = tmp_path / "keys" / "signing" / f"{first.key_id.hex()}.skey"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert [v.to_key() for v in keys.verifiers()] == [first.verifier_key()]


def test_reading_keys_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    keys = ring(home)
    assert keys.signers(generate=False) == [] and keys.verifiers() == [] and keys.report_verifiers() == {}
    with pytest.raises(KeyConfigError, match="no signing keys"):
        keys.retire("abcd1234")
    assert not home.exists()  # only generating or pinning a key makes the keys directory


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    (signer,) = ring(tmp_path).signers()
    os.chmod(tmp_path / "keys" / "signing" / f"{signer.key_id.hex()}.skey", 0o644)
    with pytest.raises(KeyConfigError, match="chmod 600"):
        ring(tmp_path).signers()


def test_rotation_signs_with_both_keys_and_retired_keys_still_verify(tmp_path: Path) -> None:
    keys = ring(tmp_path)
    (old,) = keys.signers()
    cp = Checkpoint("test.example/log/0", 1, bytes(32))
    note_by_old = sign_checkpoint(cp, keys.signers())
    new = keys.rotate()
    both = keys.signers()
    assert {s.key_id for s in both} == {old.key_id, new.key_id}
    note_by_both = sign_checkpoint(cp, both)
    keys.retire(old.key_id.hex())
    assert [s.key_id for s in keys.signers()] == [new.key_id]
    trusted = keys.verifiers()
    assert {v.key_id for v in trusted} == {old.key_id, new.key_id}
    for note in (note_by_old, note_by_both):
        assert open_checkpoint(note, trusted) == cp
    assert open_checkpoint(note_by_both, [new.verifier()]) == cp  # a verifier that only knows the new key
    with pytest.raises(KeyConfigError, match="only signing key"):
        keys.retire(new.key_id.hex())
    with pytest.raises(KeyConfigError, match="no active signing key"):
        keys.retire("00000000")


def test_configured_keys_replace_the_directory(tmp_path: Path) -> None:
    signer, witness = generate_signer("prod.example/log"), generate_signer("witness.example")
    keys = ring(tmp_path, signing_keys=signer.signer_key(), verifier_keys=witness.verifier_key())
    assert [s.verifier_key() for s in keys.signers()] == [signer.verifier_key()]
    assert {v.to_key() for v in keys.verifiers()} == {signer.verifier_key(), witness.verifier_key()}
    assert not (tmp_path / "keys" / "signing").exists()
    with pytest.raises(KeyConfigError, match="BATTRACE_SIGNING_KEYS"):
        ring(tmp_path, signing_keys="PRIVATE+KEY+broken").signers()


def test_a_retired_key_open_to_others_or_owned_by_another_user_is_refused(tmp_path: Path, monkeypatch) -> None:
    keys = ring(tmp_path)
    (old,) = keys.signers()
    keys.rotate()
    keys.retire(old.key_id.hex())
    retired = tmp_path / "keys" / "retired" / f"{old.key_id.hex()}.vkey"
    assert stat.S_IMODE(retired.stat().st_mode) == 0o600  # written owner-only, like a signer key
    assert old.key_id in {v.key_id for v in keys.verifiers()}
    for mode in (0o644, 0o620, 0o602):  # readable, or writable by the group or by anyone: a key could be swapped
        os.chmod(retired, mode)
        with pytest.raises(KeyConfigError, match=re.escape(f"chmod 600 {retired}")):
            ring(tmp_path).verifiers()
    os.chmod(retired, 0o600)
    monkeypatch.setattr(os, "geteuid", lambda: retired.stat().st_uid + 1)
    with pytest.raises(KeyConfigError, match="not to this user"):
        ring(tmp_path).verifiers()


def test_a_broken_retired_key_is_refused_naming_the_file(tmp_path: Path) -> None:
    keys = ring(tmp_path)
    keys.signers()
    broken = tmp_path / "keys" / "retired" / "00000000.vkey"
    broken.write_text("not a key\n")
    os.chmod(broken, 0o600)
    with pytest.raises(KeyConfigError, match=re.escape("00000000.vkey is not a verifier key")):
        keys.verifiers()


def test_the_report_key_directory_is_created_and_repaired_owner_only(tmp_path: Path) -> None:
    keys = ring(tmp_path)
    report_dir = tmp_path / "keys" / "report"
    signer = keys.report_signer("manufacturer_qa")
    assert stat.S_IMODE(report_dir.stat().st_mode) == 0o700
    os.chmod(report_dir, 0o755)
    assert keys.report_signer("manufacturer_qa").verifier_key() == signer.verifier_key()
    assert stat.S_IMODE(report_dir.stat().st_mode) == 0o700
    os.chmod(report_dir, 0o755)
    assert [v.to_key() for v in keys.report_verifiers()["manufacturer_qa"]] == [signer.verifier_key()]
    assert stat.S_IMODE(report_dir.stat().st_mode) == 0o700


def test_a_world_readable_report_key_is_refused(tmp_path: Path) -> None:
    keys = ring(tmp_path)
    keys.report_signer("third_party_verifier")
    path = tmp_path / "keys" / "report" / "third_party_verifier.skey"
    os.chmod(path, 0o644)
    with pytest.raises(KeyConfigError, match=re.escape(f"chmod 600 {path}")):
        keys.report_verifiers()
    with pytest.raises(KeyConfigError, match="chmod 600"):
        keys.report_signer("third_party_verifier")
