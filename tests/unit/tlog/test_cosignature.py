"""tlog-cosignature/v1 against published values and deliberately broken inputs.

Vectors:
- the key ``remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2`` and the cosignature whose
  timestamp is 1727964367: transparency-dev/formats, note/note_cosigv1_test.go (TestCoSigV1NewVerifier,
  TestCosignatureTimestamp);
- the witness line ``witness.example.com/w1 jWbPPw…`` and the message ``time 1679315147``: the example in
  c2sp.org/tlog-cosignature (its timestamp is the one the spec's signed-message example shows).
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from battrace.tlog import Checkpoint, generate_signer, sign_checkpoint
from battrace.tlog.cosignature import (
    Cosigner,
    NotEnoughCosignatures,
    WitnessKey,
    add_cosignature,
    cosignature_timestamp,
    cosigned_by,
    cosigned_message,
    require_cosignatures,
)
from battrace.tlog.note import InvalidKeyError, NoteError, Signature, parse_note

REMORA = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
FORMATS_COSIGNATURE = (
    "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA=="
)
SPEC_NOTE = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
    "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+"
    "zyWE+xeMcTOAYQ8=\n"
    "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0"
    "xUe+mbIUBkBIfZ+qnA==\n"
)
TEXT = Checkpoint("battrace.example/log/0", 3, b"\x11" * 32).to_text()


def _signature(b64: str, name: str = "w") -> Signature:
    raw = base64.b64decode(b64)
    return Signature(name, raw[:4], raw[4:])


def test_a_published_witness_key_parses_and_its_key_id_recomputes() -> None:
    key = WitnessKey.from_key(REMORA)
    assert key.name == "remora.n621.de" and key.key_id.hex() == "da77ade7"
    assert key.to_key() == REMORA
    with pytest.raises(InvalidKeyError):
        WitnessKey.from_key(REMORA.replace("da77ade7", "00000000"))
    as_log_key = base64.b64encode(b"\x01" + key.public_key).decode()
    with pytest.raises(InvalidKeyError):  # the same public key as a log key (type 0x01) is not a witness key
        WitnessKey.from_key(f"remora.n621.de+da77ade7+{as_log_key}")


def test_published_cosignatures_carry_their_timestamps() -> None:
    assert cosignature_timestamp(_signature(FORMATS_COSIGNATURE)) == 1727964367
    _, signatures = parse_note(SPEC_NOTE)
    witness_line = next(s for s in signatures if s.name == "witness.example.com/w1")
    assert cosignature_timestamp(witness_line) == 1679315147
    log_line = next(s for s in signatures if s.name == "example.com/behind-the-sofa")
    with pytest.raises(NoteError):  # a log signature (64 bytes) is not a cosignature payload
        cosignature_timestamp(log_line)


def test_the_signed_message_is_the_specs_layout() -> None:
    cosigner = Cosigner.generate("witness.example/w1")
    line = cosigner.cosign(TEXT, 1679315147)
    assert line.key_id == cosigner.key_id and cosignature_timestamp(line) == 1679315147
    by_hand = b"cosignature/v1\ntime 1679315147\n" + TEXT.encode()
    assert cosigned_message(TEXT, 1679315147) == by_hand
    Ed25519PublicKey.from_public_bytes(cosigner.public_key).verify(line.signature[8:], by_hand)  # raises if not


def test_a_cosigned_checkpoint_counts_only_pinned_valid_witnesses() -> None:
    log = generate_signer("battrace.example/log/0")
    note = sign_checkpoint(Checkpoint.parse(TEXT), log)
    w1, w2, stranger = (Cosigner.generate(n) for n in ("w.example/1", "w.example/2", "w.example/3"))
    for cosigner, at in ((w1, 100), (w2, 200), (stranger, 300)):
        note = add_cosignature(note, cosigner.cosign(TEXT, at))
    pinned = [w1.key(), w2.key()]
    assert cosigned_by(note, pinned) == {"w.example/1": 100, "w.example/2": 200}
    assert require_cosignatures(note, pinned, 2) == {"w.example/1": 100, "w.example/2": 200}
    with pytest.raises(NotEnoughCosignatures, match="needs 3"):
        require_cosignatures(note, pinned, 3)


@pytest.mark.parametrize("where", ["text", "timestamp", "signature"])
def test_a_changed_byte_voids_a_cosignature(where: str) -> None:
    cosigner = Cosigner.generate("w.example/1")
    line = cosigner.cosign(TEXT, 1000)
    text, payload = TEXT, bytearray(line.signature)
    if where == "text":
        text = TEXT.replace("\n3\n", "\n4\n")
    elif where == "timestamp":
        payload[7] ^= 1
    else:
        payload[-1] ^= 1
    forged = Signature(line.name, line.key_id, bytes(payload))
    assert cosigner.key().timestamp_of(text, forged) is None
    assert cosigner.key().timestamp_of(TEXT, line) == 1000


def test_extension_lines_are_covered() -> None:
    text = TEXT + "extension\n"
    cosigner = Cosigner.generate("w.example/1")
    line = cosigner.cosign(text, 5)
    assert cosigner.key().timestamp_of(text, line) == 5
    assert cosigner.key().timestamp_of(text.replace("extension", "extensiom"), line) is None


def test_a_log_key_and_a_witness_key_never_verify_each_others_lines() -> None:
    seed = bytes(range(32))
    cosigner = Cosigner.from_seed("same.example/name", seed)
    log_signer = generate_signer("same.example/name")
    assert cosigner.key_id != log_signer.key_id  # type 0x04 vs 0x01 in the key ID
    note = sign_checkpoint(Checkpoint.parse(TEXT), log_signer)
    assert cosigned_by(note, [cosigner.key()]) == {}


def test_add_cosignature_replaces_a_key_s_earlier_line() -> None:
    log = generate_signer("battrace.example/log/0")
    cosigner = Cosigner.generate("w.example/1")
    note = add_cosignature(sign_checkpoint(Checkpoint.parse(TEXT), log), cosigner.cosign(TEXT, 1))
    note = add_cosignature(note, cosigner.cosign(TEXT, 2))
    assert note.count("w.example/1") == 1 and cosigned_by(note, [cosigner.key()]) == {"w.example/1": 2}


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        cosigned_message(TEXT, 2**63)
    with pytest.raises(ValueError):
        cosigned_message("one line\n", 1)
    with pytest.raises(InvalidKeyError):
        WitnessKey.from_key("no-plus-signs")
    with pytest.raises(InvalidKeyError):
        Cosigner.from_seed("w", b"short")
