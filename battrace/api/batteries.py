"""Battery passport, chain and offline bundle endpoints (shipment, lot and party bundles too: a report is
checked with them)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from battrace.api import passport
from battrace.api.context import ApiContext, get_context
from battrace.api.errors import ApiError
from battrace.api.models import Chain, Passport, Problem
from battrace.api.params import battery_code
from battrace.domain.entities import BATTERY, LOT, PARTY, SHIPMENT
from battrace.verify.export import NothingToExport, build_bundle

router = APIRouter(tags=["batteries"])
Context = Annotated[ApiContext, Depends(get_context)]
BatteryId = Annotated[str, Depends(battery_code)]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no such battery in the store"},
    422: {"model": Problem, "description": "not a GB/T 34014 code; `detail` names the first wrong position"},
}
BUNDLE_DOC: dict[str, Any] = {
    "description": "a battrace-bundle/1 JSON file (records, inclusion proofs, the signed checkpoint, the entity's "
    "head proving no record is left out, verifier keys); check it offline with "
    "`battrace verify --bundle FILE --key KEY` or POST it to /verify/bundle",
    "content": {"application/json": {"schema": {"type": "object"}}},
}
BUNDLE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: BUNDLE_DOC,
    404: ERRORS[404],
    409: {"model": Problem, "description": "not under a checkpoint yet"},
}


@router.get(
    "/batteries/{battery_id}",
    response_model=Passport,
    summary="Battery passport",
    responses={
        **ERRORS,
        409: {"model": Problem, "description": "the stored rows differ from what the sealed events give"},
    },
)
def get_passport(battery_id: BatteryId, ctx: Context) -> Passport:
    """The battery's current projection, its carbon footprint per lifecycle stage, chain length and head; shown
    only when they equal what the battery's sealed events give (as `battrace verify --battery` recomputes them)."""
    found = passport.passport(ctx.client, battery_id)
    if found is None:
        raise ApiError(404, "not_found", f"no battery {battery_id} in this store", {"battery_id": battery_id})
    differences = passport.unverified(ctx.client, battery_id)
    if differences:
        raise ApiError(
            409,
            "not_verified",
            f"the stored passport of {battery_id} differs from its sealed events ({differences[0].problem}); "
            f"see /verify/batteries/{battery_id}",
            {"battery_id": battery_id, "problems": [d.problem for d in differences]},
        )
    return found


@router.get("/batteries/{battery_id}/chain", response_model=Chain, summary="Sealed chain", responses=ERRORS)
def get_chain(battery_id: BatteryId, ctx: Context) -> Chain:
    """Every sealed record of the battery in seq order: what `verify` recomputes."""
    found = passport.chain(ctx.client, battery_id)
    if not found.records:
        raise ApiError(404, "not_found", f"no sealed records for battery {battery_id}", {"battery_id": battery_id})
    return found


@router.get(
    "/batteries/{battery_id}/bundle",
    summary="Offline verification bundle of a battery",
    response_class=JSONResponse,
    responses={200: BUNDLE_DOC, **ERRORS, 409: {"model": Problem, "description": "not under a checkpoint yet"}},
)
def get_battery_bundle(battery_id: BatteryId, ctx: Context) -> JSONResponse:
    """Downloadable bundle: verifiable with no access to this server."""
    return _bundle(ctx, BATTERY, battery_id)


@router.get(
    "/shipments/{shipment_id}/bundle",
    summary="Offline verification bundle of a shipment",
    response_class=JSONResponse,
    responses=BUNDLE_RESPONSES,
)
def get_shipment_bundle(
    shipment_id: Annotated[str, Path(description="consignment id", min_length=1, max_length=200)], ctx: Context
) -> JSONResponse:
    """The shipment's own chain as a bundle (what its signed report's seal reference points into)."""
    return _bundle(ctx, SHIPMENT, shipment_id)


@router.get(
    "/lots/{lot_id}/bundle",
    summary="Offline verification bundle of a material lot",
    response_class=JSONResponse,
    responses=BUNDLE_RESPONSES,
)
def get_lot_bundle(
    lot_id: Annotated[str, Path(description="material lot id", min_length=1, max_length=200)], ctx: Context
) -> JSONResponse:
    """The lot's chain as a bundle: its assays, consumption and the consignments that carried it."""
    return _bundle(ctx, LOT, lot_id)


@router.get(
    "/parties/{party_id}/bundle",
    summary="Offline verification bundle of a registry party",
    response_class=JSONResponse,
    responses=BUNDLE_RESPONSES,
)
def get_party_bundle(
    party_id: Annotated[str, Path(description="registry id of the party", min_length=1, max_length=200)], ctx: Context
) -> JSONResponse:
    """The party's sealed licence records as a bundle: what a report's co-signer checks custody against."""
    return _bundle(ctx, PARTY, party_id)


def _bundle(ctx: ApiContext, entity_type: str, entity_id: str) -> JSONResponse:
    if not passport.chain_summary(ctx.client, entity_type, entity_id).length:
        raise ApiError(404, "not_found", f"no sealed records for {entity_type} {entity_id}", {"id": entity_id})
    try:
        bundle = build_bundle(ctx.client, entity_type, entity_id, list(ctx.verifiers), ctx.proofs)
    except NothingToExport as exc:  # sealed, but the newest rows wait for their checkpoint
        raise ApiError(409, "not_checkpointed", str(exc), {"id": entity_id}) from None
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", f"{entity_type}-{entity_id}.bundle.json")
    return JSONResponse(bundle, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
