"""The transparency side: latest checkpoint per log, the signed notes themselves, and the verifier keys.

Notes and keys are served as the plain text a C2SP verifier reads (tlog-checkpoint, signed-note keys),
so third parties can pin and check them with any compatible tool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse

from battrace.api.context import ApiContext, get_context
from battrace.api.errors import ApiError
from battrace.api.models import ConsistencyProof, LogHead, Problem
from battrace.store.log_trees import held_from, held_tree
from battrace.tlog import EMPTY_ROOT
from battrace.verify.log_signers import signing_key_ids

router = APIRouter(tags=["logs"])
Context = Annotated[ApiContext, Depends(get_context)]
TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}


@router.get("/logs", response_model=list[LogHead], summary="Latest checkpoint of every log")
def list_logs(ctx: Context) -> list[LogHead]:
    """One entry per log (one log per trace.chain partition): its newest signed size and root, and which of this
    server's trusted keys signed it (two during a key rotation)."""
    rows = ctx.client.query(
        "SELECT log_id, size, root, key_id, created_at, note FROM battrace.checkpoints FINAL "
        "ORDER BY log_id, size DESC LIMIT 1 BY log_id"
    ).named_results()
    return [LogHead(**r, signed_by=signing_key_ids(r["note"], ctx.verifiers)) for r in rows]


@router.get(
    "/logs/{log_id:path}/checkpoint",
    response_class=PlainTextResponse,
    summary="Latest signed checkpoint of a log",
    responses={
        200: {**TEXT, "description": "C2SP signed note: origin, size, root, blank line, signatures"},
        404: {"model": Problem},
    },
)
def get_checkpoint(log_id: str, ctx: Context) -> PlainTextResponse:
    """The note as signed; log ids contain slashes (e.g. battrace.example/log/0) and go into the path as they are."""
    rows = ctx.client.query(
        "SELECT note FROM battrace.checkpoints FINAL WHERE log_id = {log:String} ORDER BY size DESC LIMIT 1",
        parameters={"log": log_id},
    ).result_rows
    if not rows:
        raise ApiError(404, "not_found", f"no checkpoint for log {log_id!r}; GET /logs lists the logs", {"log": log_id})
    return PlainTextResponse(rows[0][0])


@router.get(
    "/logs/{log_id:path}/consistency",
    response_model=ConsistencyProof,
    summary="Consistency proof between two sizes of a log",
    responses={404: {"model": Problem}, 409: {"model": Problem}, 422: {"model": Problem}},
)
def get_consistency(
    log_id: str,
    ctx: Context,
    first: Annotated[int, Query(ge=0, description="the older tree size (a checkpoint the client holds)")],
    second: Annotated[
        int | None, Query(ge=0, description="the newer tree size; default: the latest signed checkpoint's")
    ] = None,
) -> ConsistencyProof:
    """Proves that the log only grew from ``first`` to ``second`` entries, computed from the stored entries.

    Only signed entries are proven: ``second`` may not exceed the latest checkpoint's size, so a client never
    learns a root no checkpoint vouches for. Check the proof with any RFC 9162 verifier (battrace.tlog's
    verify_consistency) against the roots of the two signed checkpoints the client holds.
    """
    rows = ctx.client.query(
        "SELECT max(size), count() FROM battrace.checkpoints FINAL WHERE log_id = {log:String}",
        parameters={"log": log_id},
    ).result_rows
    if not rows or not rows[0][1]:
        raise ApiError(404, "not_found", f"no checkpoint for log {log_id!r}; GET /logs lists the logs", {"log": log_id})
    signed = int(rows[0][0])
    second = signed if second is None else second
    if second > signed:
        raise ApiError(
            422,
            "beyond_checkpoint",
            f"second={second} is past the latest signed checkpoint of {log_id} (size {signed}); ask for at most that",
            {"log": log_id, "second": second, "signed_size": signed},
        )
    if first > second:
        raise ApiError(
            422,
            "invalid_sizes",
            f"first={first} is larger than second={second}; a consistency proof goes from a smaller size to a larger",
            {"first": first, "second": second},
        )
    tree = held_tree(ctx.client, log_id, second)
    if first < held_from(tree) and first > 0:
        raise ApiError(
            409,
            "archived",
            f"the first {held_from(tree)} entries of {log_id} are archived; prove first={first} with "
            "`battrace verify --archive` on the archive, or ask from its size on",
            {"log": log_id, "first": first, "archived_size": held_from(tree)},
        )
    try:  # the tree reads stored tiles and leaves as the proof needs them
        first_root = tree.root(first) if first else EMPTY_ROOT
        second_root = tree.root(second) if second else EMPTY_ROOT
        proof = tree.consistency_proof(first, second)
    except LookupError as exc:
        raise ApiError(409, "log_incomplete", f"{exc}; the store cannot prove this log", {"log": log_id}) from None
    return ConsistencyProof(
        log_id=log_id,
        first=first,
        second=second,
        first_root=first_root.hex(),
        second_root=second_root.hex(),
        proof=[h.hex() for h in proof],
    )


@router.get(
    "/keys",
    response_class=PlainTextResponse,
    summary="Verifier keys",
    responses={200: {**TEXT, "description": "one name+keyid+key per line"}},
)
def get_keys(ctx: Context) -> PlainTextResponse:
    """The keys checkpoints of this deployment are signed with: pin them to verify bundles offline."""
    return PlainTextResponse("".join(f"{key}\n" for key in ctx.trusted_keys))
