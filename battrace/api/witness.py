"""The witness's HTTP service (c2sp.org/tlog-witness): ``POST /add-checkpoint``, and its public key.

Run by `battrace witness serve` from the witness's own home, as its own process: the operator's worker submits each
new checkpoint with a consistency proof and appends the cosignature it gets back. The answers are the spec's:
200 with the cosignature line, 409 with the held size (``text/x.tlog.size``), 400/403/404/422 with a one-line reason.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

from battrace.stack.witness import WitnessHome
from battrace.tlog.witness import SizeConflict, Witness, WitnessRefusal, parse_add_checkpoint

MAX_BODY_BYTES = 64 * 1024  # a checkpoint note and 63 proof lines fit many times over


def create_witness_app(home: WitnessHome) -> FastAPI:
    """Load the key and pinned logs now, so a bad home fails at start (battrace.stack.witness.WitnessHomeError)."""
    witness = Witness(home.cosigner(), home.log_keys(), home.state())
    app = FastAPI(title="battrace witness", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/add-checkpoint")
    async def add_checkpoint(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return PlainTextResponse(f"request body over {MAX_BODY_BYTES} bytes\n", status_code=413)
        try:
            old_size, proof, note = parse_add_checkpoint(body)
            signature = witness.add_checkpoint(note, old_size, proof)
        except SizeConflict as refusal:
            return PlainTextResponse(f"{refusal.held}\n", status_code=409, media_type="text/x.tlog.size")
        except WitnessRefusal as refusal:
            return PlainTextResponse(f"{refusal}\n", status_code=refusal.status)
        return PlainTextResponse(signature.line())

    @app.get("/key")
    async def key() -> PlainTextResponse:
        """The witness's verifier key, for logs and verifiers to pin."""
        return PlainTextResponse(witness.cosigner.key().to_key() + "\n")

    return app
