"""The worker's witness client against real witness processes: cosignatures collected, a 409 recovered from,
a witness that is down costs only its own cosignature."""

from __future__ import annotations

import asyncio
from pathlib import Path

from witness_process import init_witness, serving

from battrace.tlog import Checkpoint, generate_signer, leaf_hash, sign_checkpoint
from battrace.tlog.cosignature import WitnessKey, cosigned_by, require_cosignatures
from battrace.tlog.proof import consistency_proof
from battrace.tlog.rfc6962 import root_hash
from processors.witnesses import WitnessClient, WitnessEndpoint

LOG = generate_signer("battrace.example/log")
ORIGIN = "battrace.example/log/1"
LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(12)]


def _note(size: int) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, size, root_hash(LEAVES[:size])), LOG)


def _proof_to(size: int):
    async def proof_from(old: int) -> list[bytes]:
        return consistency_proof(LEAVES[:size], old)

    return proof_from


async def _cosign(client: WitnessClient, size: int) -> str:
    return await client.cosign(_note(size), ORIGIN, size, _proof_to(size))


def test_two_witnesses_cosign_each_new_checkpoint_and_a_stale_belief_is_corrected(tmp_path: Path) -> None:
    pinned = f"battrace.example/log/={LOG.verifier_key()}"
    keys = [WitnessKey.from_key(init_witness(tmp_path / n, f"witness.example/{n}", pinned)) for n in ("w1", "w2")]
    with serving(tmp_path / "w1") as url1, serving(tmp_path / "w2") as url2:

        async def run() -> list[str]:
            client = WitnessClient([WitnessEndpoint(url1, keys[0]), WitnessEndpoint(url2, keys[1])])
            try:
                notes = [await _cosign(client, 3), await _cosign(client, 7)]
                client.held.clear()  # a restarted worker believes the witnesses hold nothing: each answers 409 once
                notes.append(await _cosign(client, 12))
                return notes
            finally:
                await client.close()

        for note in asyncio.run(run()):
            assert set(require_cosignatures(note, keys, 2)) == {"witness.example/w1", "witness.example/w2"}


def test_a_witness_that_is_down_costs_its_cosignature_only(tmp_path: Path) -> None:
    pinned = f"battrace.example/log/={LOG.verifier_key()}"
    up = WitnessKey.from_key(init_witness(tmp_path / "up", "witness.example/up", pinned))
    down = WitnessKey.from_key(init_witness(tmp_path / "down", "witness.example/down", pinned))
    with serving(tmp_path / "up") as url:

        async def run() -> str:
            client = WitnessClient([WitnessEndpoint(url, up), WitnessEndpoint("http://127.0.0.1:9", down)])
            try:
                return await _cosign(client, 5)
            finally:
                await client.close()

        note = asyncio.run(run())
    assert set(cosigned_by(note, [up, down])) == {"witness.example/up"}
