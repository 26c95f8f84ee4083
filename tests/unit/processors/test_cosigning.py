"""Cosigning off the seal path: a stored checkpoint is sent to the witnesses in the background, the cosigned note is
stored over the row and published; checkpoints that pile up behind a slow witness are sent as the newest one; a
witness that never answers costs only its cosignature. The witness is battrace.tlog.witness.Witness, answering
through httpx's in-process transport (no socket)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from memory_witness_state import MemoryWitnessState

from battrace.store.sink import SinkBatch
from battrace.tlog import CompactTree, generate_signer, leaf_hash
from battrace.tlog.checkpoint import Checkpoint, sign_checkpoint
from battrace.tlog.cosignature import Cosigner
from battrace.tlog.proof import consistency_proof
from battrace.tlog.witness import TreeHead, Witness, WitnessRefusal, parse_add_checkpoint
from battrace.verify.witness_quorum import WitnessQuorum
from processors.cosigning import Cosigning, SignedCheckpoint
from processors.witnesses import WitnessClient, WitnessEndpoint

LOG = generate_signer("battrace.example/log")
ORIGIN = "battrace.example/log/0"
LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(16)]
WITNESS = Cosigner.generate("witness.example/w1")
QUORUM = WitnessQuorum((WITNESS.key(),), 1)


def tree(size: int) -> CompactTree:
    made = CompactTree()
    made.extend(LEAVES[:size])
    return made


def checkpoint(old: int, new: int) -> SignedCheckpoint:
    """The row the log signer stores for size ``new``, with its proof material from the checkpoint of ``old``."""
    note = sign_checkpoint(Checkpoint(ORIGIN, new, tree(new).root()), LOG)
    row = {"log_id": ORIGIN, "size": new, "root": tree(new).root().hex(), "note": note, "key_id": "", "created_at": 0}
    return SignedCheckpoint(row, tree(old), LEAVES[old:new])


class Harness:
    def __init__(self, gate: asyncio.Event | None = None, answer: bool = True, timeout_s: float = 5.0) -> None:
        self.witness = Witness(WITNESS, {"battrace.example/log/": [LOG.verifier()]}, MemoryWitnessState())
        self.gate, self.answer = gate, answer
        self.sent: list[int] = []  # checkpoint sizes the witness was asked about
        self.stored: list[dict[str, Any]] = []
        self.published: list[tuple[str, str]] = []
        self.proofs_from_store: list[tuple[str, int, int]] = []
        client = httpx.AsyncClient(transport=httpx.MockTransport(self.handle), timeout=timeout_s)
        witnesses = WitnessClient([WitnessEndpoint("http://witness.test", WITNESS.key())], client)
        self.cosigning = Cosigning(witnesses, self.stored_proof, self.write, self.publish, deadline_s=timeout_s)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        old, proof, note = parse_add_checkpoint(request.content)
        self.sent.append(Checkpoint.parse(note.split("\n\n")[0] + "\n").size)
        if self.gate is not None:
            await self.gate.wait()
        if not self.answer:
            await asyncio.sleep(3600)
        try:
            return httpx.Response(200, text=self.witness.add_checkpoint(note, old, proof).line())
        except WitnessRefusal as refusal:
            held = getattr(refusal, "held", None)
            return httpx.Response(refusal.status, text=f"{held}\n" if held is not None else str(refusal))

    async def stored_proof(self, log_id: str, old: int, new: int) -> list[bytes]:
        self.proofs_from_store.append((log_id, old, new))
        return consistency_proof(LEAVES[:new], old)

    async def write(self, batch: SinkBatch) -> None:
        self.stored.extend(batch.rows["checkpoints"])

    async def publish(self, log_id: str, note: str) -> None:
        self.published.append((log_id, note))


def test_each_stored_checkpoint_is_cosigned_stored_again_and_published_with_proofs_from_memory() -> None:
    async def run() -> Harness:
        h = Harness()
        for old, new in ((0, 3), (3, 7), (7, 12)):
            h.cosigning.submit(checkpoint(old, new))
            assert await h.cosigning.settled(5)
        await h.cosigning.close()
        return h

    h = asyncio.run(run())
    assert h.sent == [3, 7, 12] and h.proofs_from_store == []
    assert [r["size"] for r in h.stored] == [3, 7, 12]
    for row, (log_id, note) in zip(h.stored, h.published, strict=True):
        assert log_id == ORIGIN and note == row["note"] and QUORUM.problem(note) is None
        assert row["note"].startswith(checkpoint(0, row["size"]).row["note"].split("\n\n")[0])


def test_checkpoints_that_pile_up_behind_a_slow_witness_go_as_the_newest_one() -> None:
    async def run() -> Harness:
        gate = asyncio.Event()
        h = Harness(gate)
        h.cosigning.submit(checkpoint(0, 3))
        while not h.sent:
            await asyncio.sleep(0.01)
        h.cosigning.submit(checkpoint(3, 7))  # both wait while the witness holds on to size 3
        h.cosigning.submit(checkpoint(7, 12))
        gate.set()
        assert await h.cosigning.settled(5)
        await h.cosigning.close()
        return h

    h = asyncio.run(run())
    assert h.sent == [3, 12]  # size 7 was never sent: 12 was proven from 3 with the leaves of both
    assert h.proofs_from_store == []
    assert [r["size"] for r in h.stored] == [3, 12]
    assert all(QUORUM.problem(r["note"]) is None for r in h.stored)


def test_a_witness_holding_a_size_the_worker_does_not_remember_gets_a_proof_from_the_store() -> None:
    async def run() -> Harness:
        h = Harness()
        h.witness._state.put(ORIGIN, TreeHead(5, tree(5).root()))  # cosigned before this worker started
        h.cosigning.submit(checkpoint(7, 12))
        assert await h.cosigning.settled(5)
        await h.cosigning.close()
        return h

    h = asyncio.run(run())
    assert h.sent == [12, 12]  # a 409 names size 5, the retry carries the proof from it
    assert h.proofs_from_store == [(ORIGIN, 5, 12)]
    assert [QUORUM.problem(r["note"]) for r in h.stored] == [None]


def test_a_witness_that_never_answers_costs_its_cosignature_and_never_blocks_the_caller() -> None:
    async def run() -> Harness:
        h = Harness(answer=False, timeout_s=0.3)
        started = asyncio.get_running_loop().time()
        h.cosigning.submit(checkpoint(0, 3))  # what the log signer does after storing the row: returns at once
        assert asyncio.get_running_loop().time() - started < 0.05
        assert await h.cosigning.settled(5)
        h.answer = True  # the witness is back: the next checkpoint is cosigned
        h.cosigning.submit(checkpoint(3, 7))
        assert await h.cosigning.settled(5)
        await h.cosigning.close()
        return h

    h = asyncio.run(run())
    assert [r["size"] for r in h.stored] == [7]  # nothing rewritten for size 3
    assert QUORUM.problem(h.stored[0]["note"]) is None
