"""Verification endpoints: recompute a battery's seals on the server, or check an uploaded bundle in memory.

Both trust only this deployment's verifier keys (`battrace keys export`), never keys that arrive with the
input: a bundle re-signed by someone else is self-consistent, and must still fail here.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from battrace.api import passport
from battrace.api.context import ApiContext, get_context
from battrace.api.errors import ApiError
from battrace.api.models import BatteryVerification, BundleVerification, Problem
from battrace.api.params import battery_code
from battrace.verify.bundle import BundleError, load_bundle, verify_bundle
from battrace.verify.chains import verify

log = logging.getLogger(__name__)
router = APIRouter(prefix="/verify", tags=["verification"])
Context = Annotated[ApiContext, Depends(get_context)]
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
NO_KEYS = {503: {"model": Problem, "description": "this server has no verifier keys to check signatures with"}}


def _require_keys(ctx: ApiContext) -> None:
    if not ctx.verifiers:
        raise ApiError(
            503,
            "no_verifier_keys",
            f"no verifier keys under {ctx.settings.keys_dir} and BATTRACE_VERIFIER_KEYS is empty: "
            "configure the log's key and restart the server",
        )


@router.get(
    "/batteries/{battery_id}",
    response_model=BatteryVerification,
    summary="Verify a battery on the server",
    responses={
        404: {"model": Problem, "description": "no such battery"},
        422: {"model": Problem, "description": "not a GB/T 34014 code"},
        **NO_KEYS,
    },
)
def verify_battery(battery_id: Annotated[str, Depends(battery_code)], ctx: Context) -> BatteryVerification:
    """Recompute the chain from the stored events, check each record against its log entry with an
    RFC 9162 inclusion proof, and every log's checkpoint signatures, roots and consistency; then recompute the
    rows the passport shows (projection, carbon lines, flags, decoded events) from the sealed events."""
    _require_keys(ctx)
    if not passport.known(ctx.client, battery_id):
        raise ApiError(404, "not_found", f"no battery {battery_id} in this store", {"battery_id": battery_id})
    report = verify(ctx.client, list(ctx.verifiers), battery_id)
    return BatteryVerification(battery_id=battery_id, trusted_keys=ctx.trusted_keys, **report.to_json())


@router.post(
    "/bundle",
    response_model=BundleVerification,
    summary="Verify an uploaded bundle",
    responses={
        400: {"model": Problem, "description": "not a battrace-bundle/1 JSON file"},
        413: {"model": Problem, "description": f"larger than {MAX_BUNDLE_BYTES} bytes"},
        415: {"model": Problem, "description": "sent as a form upload instead of the request body"},
        **NO_KEYS,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "the bundle file itself as the body, e.g. "
            "`curl --data-binary @bundle.json -H 'Content-Type: application/json' URL/verify/bundle`",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def verify_uploaded_bundle(request: Request, ctx: Context) -> BundleVerification:
    """Check a bundle in memory (nothing is stored) against this server's pinned verifier keys."""
    _require_keys(ctx)
    if request.headers.get("content-type", "").startswith("multipart/"):
        raise ApiError(415, "unsupported_media_type", "send the bundle file as the request body, not as a form field")
    bundle = _load(await _body(request))
    try:
        report = await run_in_threadpool(verify_bundle, bundle, ctx.verifiers, ctx.report_keys)
    except Exception as exc:  # hostile content must never become a 500
        log.warning("bundle check failed unexpectedly: %r", exc)
        raise ApiError(400, "bad_bundle", f"the bundle could not be checked: {exc!r}") from None
    return BundleVerification(trusted_keys=ctx.trusted_keys, **report.to_json())


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BUNDLE_BYTES:
        raise ApiError(413, "too_large", f"bundles larger than {MAX_BUNDLE_BYTES} bytes are not accepted")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BUNDLE_BYTES:
            raise ApiError(413, "too_large", f"bundles larger than {MAX_BUNDLE_BYTES} bytes are not accepted")
    if not body:
        raise ApiError(400, "bad_bundle", "empty request body: send the bundle file as the body")
    return bytes(body)


def _load(data: bytes) -> dict[str, Any]:
    try:
        return load_bundle(data)
    except BundleError as exc:
        raise ApiError(400, "bad_bundle", str(exc)) from None
    except (ValueError, RecursionError) as exc:  # json's digit limit and nesting depth escape load_bundle
        raise ApiError(400, "bad_bundle", f"not a JSON bundle: {exc}") from None
