"""``GET /passport/{code}``: the EU battery passport of a verified battery, as the caller's audience may see it.

Served only for a battery whose ``battrace verify --battery`` passes (409 otherwise); attributes the audience may
not see are left out on the server (battrace/passport/assemble.py), never sent for a client to hide.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse, Response

from battrace.api.battery_pages import battery_page
from battrace.api.context import ApiContext, get_context
from battrace.api.errors import ApiError
from battrace.api.models import Problem
from battrace.api.negotiation import wants_html
from battrace.api.params import battery_code
from battrace.api.passport_access import audience_of
from battrace.api.verification import NO_KEYS
from battrace.passport.assemble import assemble, for_audience
from battrace.passport.gather import NotVerified, UnknownBattery, gather

router = APIRouter(tags=["batteries"])
Context = Annotated[ApiContext, Depends(get_context)]
DOCUMENT: dict[str, Any] = {
    "description": "a battrace-passport/1 document (battrace/passport/schema.json): Annex XIII attributes grouped "
    "by DIN DKE SPEC 99100 cluster, each a value, or null with `missing` or `pending` saying why, and the "
    "audiences that may see it",
    "content": {"application/json": {"schema": {"type": "object"}}},
}


@router.get(
    "/passport/{battery_id}",
    summary="EU battery passport (Annex XIII), per audience",
    response_class=JSONResponse,
    responses={
        200: {**DOCUMENT, "content": {**DOCUMENT["content"], "text/html": {"schema": {"type": "string"}}}},
        401: {"model": Problem, "description": "the bearer token grants no audience"},
        404: {"model": Problem, "description": "no such battery in the store"},
        409: {"model": Problem, "description": "the battery does not verify: no passport"},
        422: {"model": Problem, "description": "not a GB/T 34014 code"},
        **NO_KEYS,
    },
)
def get_passport(
    battery_id: Annotated[str, Depends(battery_code)],
    ctx: Context,
    authorization: Annotated[
        str | None,
        Header(description="`Bearer <token>` for the legitimate-interest or authority view; none: the public view"),
    ] = None,
    accept: Annotated[str | None, Header(description="`text/html` first (a browser): the human page")] = None,
) -> Response:
    """The passport for the public, or for the audience the bearer token grants (recyclers and repairers:
    `legitimate_interest`; notified bodies, market surveillance, the Commission: `authority`).

    A browser (``Accept`` ranking text/html first, as when a QR code is scanned) gets the human page at the same
    URL: identity, lifecycle, genealogy, carbon per stage, recycled content, custody, and the integrity and
    compliance verdicts apart; JSON clients get the document."""
    audience = audience_of(authorization, ctx.settings.passport_token_hashes)
    if not ctx.verifiers:
        raise ApiError(503, "no_verifier_keys", "this server has no verifier keys: configure them and restart it")
    if wants_html(accept):
        return battery_page(ctx, battery_id)
    try:
        facts = gather(ctx.client, ctx.verifiers, battery_id, f"/batteries/{battery_id}/bundle")
    except UnknownBattery as exc:
        raise ApiError(404, "not_found", str(exc), {"battery_id": battery_id}) from None
    except NotVerified as exc:
        raise ApiError(
            409, "not_verified", str(exc), {"battery_id": battery_id, "problems": exc.problems[:20]}
        ) from None
    document = for_audience(assemble(facts), audience)
    return JSONResponse(document, headers={"Cache-Control": "private, no-store", "Vary": "Accept, Authorization"})
