"""k of n pinned witnesses: only valid cosignatures of pinned keys count, each witness once, and a shortfall names
the witnesses missing; hostile notes are a shortfall, never an exception."""

from __future__ import annotations

import struct

import pytest

from battrace.tlog import Checkpoint, generate_signer, sign_checkpoint
from battrace.tlog.cosignature import Cosigner, add_cosignature
from battrace.tlog.note import Signature, parse_note
from battrace.verify.witness_quorum import FUTURE_SKEW_S, QuorumConfigError, WitnessQuorum

NOW = 1_800_000_000
LOG = generate_signer("battrace.example/log")
W1, W2, W3 = (Cosigner.generate(f"witness.example/w{i}") for i in (1, 2, 3))
NOTE = sign_checkpoint(Checkpoint("battrace.example/log/0", 12, b"\x07" * 32), LOG)


def cosigned(note: str, *cosigners: Cosigner, at: int = NOW) -> str:
    text, _ = parse_note(note)
    for cosigner in cosigners:
        note = add_cosignature(note, cosigner.cosign(text, at))
    return note


def quorum(required: int, *cosigners: Cosigner) -> WitnessQuorum:
    return WitnessQuorum(tuple(c.key() for c in cosigners), required, clock=lambda: NOW)


def test_k_of_n_counts_pinned_witnesses_with_valid_cosignatures() -> None:
    q = quorum(2, W1, W2, W3)
    assert q.problem(cosigned(NOTE, W1, W3)) is None
    assert set(q.cosigners(cosigned(NOTE, W1, W2, W3))) == {W1.name, W2.name, W3.name}
    short = q.problem(cosigned(NOTE, W2))
    assert short == f"1 of the 2 required witness cosignatures; missing: {W1.name}, {W3.name}"
    assert quorum(0, W1).problem(NOTE) is None  # nothing required


def test_a_witness_that_signs_twice_counts_once() -> None:
    text, _ = parse_note(NOTE)
    # two distinct valid lines of W1 (two timestamps), as a hostile log could append them
    note = NOTE.rstrip("\n") + "\n" + "".join(s.line() for s in (W1.cosign(text, NOW - 5), W1.cosign(text, NOW - 9)))
    assert len(parse_note(note)[1]) == 3  # the log's line and two of W1
    q = quorum(2, W1, W2)
    assert set(q.cosigners(note)) == {W1.name}
    assert q.problem(note) == f"1 of the 2 required witness cosignatures; missing: {W2.name}"
    # the same key pinned twice is one witness: k=2 cannot be met by it
    with pytest.raises(QuorumConfigError, match="2 witness cosignatures required but 1 witness"):
        WitnessQuorum((W1.key(), W1.key()), 2)


def test_a_cosignature_by_an_unpinned_key_or_an_impostor_of_the_same_name_does_not_count() -> None:
    impostor = Cosigner.generate(W1.name)  # same name, another key: another key ID
    q = quorum(1, W1)
    assert q.problem(cosigned(NOTE, impostor, W2)) == f"0 of the 1 required witness cosignatures; missing: {W1.name}"


def test_a_bad_signature_does_not_count() -> None:
    text, _ = parse_note(NOTE)
    good = W1.cosign(text, NOW)
    flipped = bytearray(good.signature)
    flipped[-1] ^= 1
    tampered_sig = add_cosignature(NOTE, Signature(good.name, good.key_id, bytes(flipped)))
    other_time = Signature(good.name, good.key_id, struct.pack(">Q", NOW + 1) + good.signature[8:])
    tampered_time = add_cosignature(NOTE, other_time)
    other_text = cosigned(sign_checkpoint(Checkpoint("battrace.example/log/0", 13, b"\x07" * 32), LOG), W1)
    moved = NOTE.rstrip("\n") + "\n" + parse_note(other_text)[1][-1].line()  # W1's line of another checkpoint
    q = quorum(1, W1)
    assert q.problem(cosigned(NOTE, W1)) is None  # the control: the untampered line counts
    for note in (tampered_sig, tampered_time, moved):
        assert q.problem(note) == f"0 of the 1 required witness cosignatures; missing: {W1.name}", note


def test_a_cosignature_dated_ahead_of_the_verifiers_clock_does_not_count() -> None:
    q = quorum(1, W1)
    assert q.problem(cosigned(NOTE, W1, at=NOW + FUTURE_SKEW_S)) is None
    assert q.problem(cosigned(NOTE, W1, at=NOW + FUTURE_SKEW_S + 1)) is not None


@pytest.mark.parametrize(
    "note", [None, 5, b"\xff\xfe", "", "no signatures\n", {"a": 1}, ["x"], "a\nb\nc\n\n\u2014 x !!!\n"]
)
def test_a_hostile_note_is_a_shortfall_not_an_exception(note: object) -> None:
    assert quorum(1, W1).problem(note) == f"0 of the 1 required witness cosignatures; missing: {W1.name}"  # type: ignore[arg-type]


def test_a_quorum_no_pinned_set_can_meet_is_refused() -> None:
    with pytest.raises(QuorumConfigError, match="pin more witness keys or require fewer"):
        quorum(3, W1, W2)
    with pytest.raises(QuorumConfigError):
        quorum(-1, W1)
