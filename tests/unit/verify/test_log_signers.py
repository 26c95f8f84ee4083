"""The key ids reported for a checkpoint are those of trusted keys whose signatures verify, in note order."""

from __future__ import annotations

from battrace.tlog import Checkpoint, generate_signer, sign_checkpoint
from battrace.verify.log_signers import signing_key_ids

OLD, NEW, OTHER = (generate_signer("test.example/log") for _ in range(3))
CHECKPOINT = Checkpoint("test.example/log/0", 3, bytes(32))


def test_both_keys_of_a_rotation_are_listed_and_an_untrusted_one_is_not() -> None:
    note = sign_checkpoint(CHECKPOINT, [OLD, NEW, OTHER])
    assert signing_key_ids(note, [OLD.verifier(), NEW.verifier()]) == [OLD.key_id.hex(), NEW.key_id.hex()]
    assert signing_key_ids(note, [NEW.verifier()]) == [NEW.key_id.hex()]


def test_a_note_no_trusted_key_signed_or_a_forged_signature_lists_nothing() -> None:
    assert signing_key_ids(sign_checkpoint(CHECKPOINT, OTHER), [OLD.verifier()]) == []
    note = sign_checkpoint(CHECKPOINT, OLD)
    forged = note.replace("\n3\n", "\n4\n")
    assert signing_key_ids(forged, [OLD.verifier()]) == []
    assert signing_key_ids("not a note", [OLD.verifier()]) == []
