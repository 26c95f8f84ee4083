"""The witness cosigns only a checkpoint that extends what it holds, and records it before it signs."""

from __future__ import annotations

import pytest
from memory_witness_state import MemoryWitnessState

from battrace.tlog import Checkpoint, generate_signer, leaf_hash, sign_checkpoint
from battrace.tlog.cosignature import Cosigner, add_cosignature, cosigned_by
from battrace.tlog.proof import consistency_proof
from battrace.tlog.rfc6962 import root_hash
from battrace.tlog.witness import (
    Inconsistent,
    SizeConflict,
    TreeHead,
    UnknownLog,
    UnverifiedCheckpoint,
    Witness,
    WitnessRefusal,
    format_add_checkpoint,
    parse_add_checkpoint,
)

ORIGIN = "battrace.example/log/0"
LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(10)]


@pytest.fixture
def log():
    return generate_signer(ORIGIN)


@pytest.fixture
def witness(log) -> Witness:
    return Witness(
        Cosigner.generate("witness.example/w1"), {ORIGIN: [log.verifier()]}, MemoryWitnessState(), lambda: 1234
    )


def _note(log, size: int, leaves: list[bytes] = LEAVES) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, size, root_hash(leaves[:size])), log)


def test_cosigns_a_first_checkpoint_then_one_that_extends_it(witness: Witness, log) -> None:
    first = _note(log, 4)
    line = witness.add_checkpoint(first, 0, [])
    assert cosigned_by(add_cosignature(first, line), [witness.cosigner.key()]) == {"witness.example/w1": 1234}
    second = _note(log, 9)
    witness.add_checkpoint(second, 4, consistency_proof(LEAVES[:9], 4))
    assert witness._state.get(ORIGIN) == TreeHead(9, root_hash(LEAVES[:9]))


def test_a_wrong_old_size_is_a_conflict_that_names_the_held_size(witness: Witness, log) -> None:
    witness.add_checkpoint(_note(log, 4), 0, [])
    with pytest.raises(SizeConflict) as refused:
        witness.add_checkpoint(_note(log, 9), 3, consistency_proof(LEAVES[:9], 3))
    assert refused.value.held == 4


def test_a_fork_a_rollback_and_a_bad_proof_are_refused_and_change_nothing(witness: Witness, log) -> None:
    witness.add_checkpoint(_note(log, 6), 0, [])
    held = witness._state.get(ORIGIN)
    forked = [*LEAVES[:5], leaf_hash(b"rewritten"), *LEAVES[6:]]
    with pytest.raises(SizeConflict):  # same size, another root
        witness.add_checkpoint(_note(log, 6, forked), 6, [])
    with pytest.raises(Inconsistent):  # a fork that grew
        witness.add_checkpoint(_note(log, 8, forked), 6, consistency_proof(forked[:8], 6))
    with pytest.raises(SizeConflict):  # older than held
        witness.add_checkpoint(_note(log, 4), 4, [])
    with pytest.raises(WitnessRefusal):  # old size above the checkpoint's
        witness.add_checkpoint(_note(log, 4), 6, [])
    with pytest.raises(Inconsistent):  # the right checkpoint, a proof for other sizes
        witness.add_checkpoint(_note(log, 8), 6, consistency_proof(LEAVES[:8], 5))
    assert witness._state.get(ORIGIN) == held


def test_only_pinned_logs_with_valid_signatures(witness: Witness, log) -> None:
    with pytest.raises(UnknownLog):
        witness.add_checkpoint(sign_checkpoint(Checkpoint("other.example/log", 1, LEAVES[0]), log), 0, [])
    impostor = generate_signer(ORIGIN)
    with pytest.raises(UnverifiedCheckpoint):
        witness.add_checkpoint(_note(impostor, 4), 0, [])
    with pytest.raises(WitnessRefusal):
        witness.add_checkpoint("not a note", 0, [])
    assert witness._state.get(ORIGIN) is None


def test_refusals_carry_the_specs_http_statuses() -> None:
    assert (UnknownLog.status, UnverifiedCheckpoint.status, SizeConflict.status, Inconsistent.status) == (
        404,
        403,
        409,
        422,
    )
    assert WitnessRefusal.status == 400


def test_the_request_body_round_trips_and_the_specs_example_parses(log) -> None:
    note = _note(log, 9)
    proof = consistency_proof(LEAVES[:9], 4)
    assert parse_add_checkpoint(format_add_checkpoint(4, proof, note)) == (4, proof, note)
    spec_example = (  # c2sp.org/tlog-witness, add-checkpoint example request body
        "old 20852014\n"
        "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
        "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
        "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
        "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
        "\n"
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
        "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9"
        "nTo+zyWE+xeMcTOAYQ8=\n"
    )
    old, proof, note = parse_add_checkpoint(spec_example.encode())
    assert old == 20852014 and len(proof) == 4 and note.startswith("example.com/behind-the-sofa\n20852163\n")


@pytest.mark.parametrize(
    "body",
    [b"", b"old 01\n\nx", b"old -1\n\nx", b"new 1\n\nx", b"old 1\nnot base64\n\nx", b"old 1\nx", b"\xff"],
)
def test_malformed_request_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(WitnessRefusal):
        parse_add_checkpoint(body)


def test_a_prefix_pins_a_family_of_logs(log) -> None:
    witness = Witness(
        Cosigner.generate("w.example/1"), {"battrace.example/log/": [log.verifier()]}, MemoryWitnessState()
    )
    witness.add_checkpoint(_note(log, 4), 0, [])  # battrace.example/log/0
    with pytest.raises(UnknownLog):  # the prefix itself is not a log of the family
        witness.add_checkpoint(sign_checkpoint(Checkpoint("battrace.example/log/", 1, LEAVES[0]), log), 0, [])
