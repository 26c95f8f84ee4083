"""`battrace witness serve` as its own process answers add-checkpoint as c2sp.org/tlog-witness says, and what it
remembers survives a restart."""

from __future__ import annotations

from pathlib import Path

import httpx
from witness_process import battrace, init_witness, serving

from battrace.tlog import Checkpoint, generate_signer, leaf_hash, sign_checkpoint
from battrace.tlog.cosignature import WitnessKey, add_cosignature, cosigned_by
from battrace.tlog.note import parse_note
from battrace.tlog.proof import consistency_proof
from battrace.tlog.rfc6962 import root_hash
from battrace.tlog.witness import format_add_checkpoint

LOG = generate_signer("battrace.example/log")
LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(8)]


def _note(size: int, origin: str = "battrace.example/log/0", signer=LOG) -> str:
    return sign_checkpoint(Checkpoint(origin, size, root_hash(LEAVES[:size])), signer)


def test_the_witness_cosigns_extensions_and_refuses_the_rest_across_a_restart(tmp_path: Path) -> None:
    home = tmp_path / "witness"
    key = WitnessKey.from_key(init_witness(home, "witness.example/w1", f"battrace.example/log/={LOG.verifier_key()}"))

    with serving(home) as url:
        assert httpx.get(f"{url}/key").text.strip() == key.to_key()
        first = _note(4)
        answer = httpx.post(f"{url}/add-checkpoint", content=format_add_checkpoint(0, [], first))
        assert answer.status_code == 200, answer.text
        _, lines = parse_note(first + answer.text)
        witnessed = add_cosignature(first, next(s for s in lines if s.name == "witness.example/w1"))
        assert set(cosigned_by(witnessed, [key])) == {"witness.example/w1"}

        stale = httpx.post(f"{url}/add-checkpoint", content=format_add_checkpoint(0, [], _note(6)))
        assert (stale.status_code, stale.text) == (409, "4\n")
        assert stale.headers["content-type"].startswith("text/x.tlog.size")
        wrong_proof = format_add_checkpoint(4, consistency_proof(LEAVES[:6], 3), _note(6))
        assert httpx.post(f"{url}/add-checkpoint", content=wrong_proof).status_code == 422
        unknown = format_add_checkpoint(0, [], _note(2, origin="elsewhere.example/log"))
        assert httpx.post(f"{url}/add-checkpoint", content=unknown).status_code == 404
        impostor = format_add_checkpoint(4, [], _note(4, signer=generate_signer("battrace.example/log")))
        assert httpx.post(f"{url}/add-checkpoint", content=impostor).status_code == 403
        assert httpx.post(f"{url}/add-checkpoint", content=b"old 1\n").status_code == 400

    with serving(home) as url:  # a new process remembers size 4
        again = httpx.post(f"{url}/add-checkpoint", content=format_add_checkpoint(0, [], _note(4)))
        assert (again.status_code, again.text) == (409, "4\n")
        grown = format_add_checkpoint(4, consistency_proof(LEAVES[:8], 4), _note(8))
        assert httpx.post(f"{url}/add-checkpoint", content=grown).status_code == 200


def test_a_missing_or_unsafe_home_is_one_line() -> None:
    result = battrace("witness", "serve", "--home", "/nonexistent/witness")
    assert result.returncode == 1 and "battrace witness init" in result.stderr
    assert "Traceback" not in result.stderr
