"""The witness cosigns only a checkpoint that extends what it holds, and records it before it signs."""

from __future__ import annotations

import pytest

from battrace.tlog import Checkpoint, generate_signer, leaf_hash, sign_checkpoint
from battrace.tlog.cosignature import Cosigner, add_cosignature, cosigned_by
from battrace.tlog.proof import consistency_proof
from battrace.tlog.rfc6962 import root_hash
from battrace.tlog.witness import Inconsistent, SizeConflict, TreeHead, UnknownLog, Witness, WitnessRefusal

ORIGIN = "battrace.example/log/0"
LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(10)]


class MemoryState:
    def __init__(self) -> None:
        self.heads: dict[str, TreeHead] = {}

    def get(self, origin: str) -> TreeHead | None:
        return self.heads.get(origin)

    def put(self, origin: str, head: TreeHead) -> None:
        self.heads[origin] = head


@pytest.fixture
def log():
    return generate_signer(ORIGIN)


@pytest.fixture
def witness(log) -> Witness:
    return Witness(Cosigner.generate("witness.example/w1"), {ORIGIN: [log.verifier()]}, MemoryState(), lambda: 1234)


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
    with pytest.raises(Inconsistent):  # same size, another root
        witness.add_checkpoint(_note(log, 6, forked), 6, [])
    with pytest.raises(Inconsistent):  # a fork that grew
        witness.add_checkpoint(_note(log, 8, forked), 6, consistency_proof(forked[:8], 6))
    with pytest.raises(Inconsistent):  # older than held
        witness.add_checkpoint(_note(log, 4), 6, [])
    with pytest.raises(Inconsistent):  # the right checkpoint, a proof for other sizes
        witness.add_checkpoint(_note(log, 8), 6, consistency_proof(LEAVES[:8], 5))
    assert witness._state.get(ORIGIN) == held


def test_only_pinned_logs_with_valid_signatures(witness: Witness, log) -> None:
    with pytest.raises(UnknownLog):
        witness.add_checkpoint(sign_checkpoint(Checkpoint("other.example/log", 1, LEAVES[0]), log), 0, [])
    impostor = generate_signer(ORIGIN)
    with pytest.raises(UnknownLog):
        witness.add_checkpoint(_note(impostor, 4), 0, [])
    with pytest.raises(WitnessRefusal):
        witness.add_checkpoint("not a note", 0, [])
    assert witness._state.get(ORIGIN) is None
