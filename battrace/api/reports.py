"""Traceability reports of delivered consignments: the current draft composed with its reviews, and whether it is
certified for this deployment's pinned role keys.

Read-only like the rest of the API: the third-party verifier reads drafts here (``GET /reports?awaiting_review=true``,
then the consignment's bundle) and publishes its co-signature or refusal to Kafka as a source party of its own
(`battrace cosign`). What ``certified`` means is decided by the role keys pinned in this deployment's home
(``keys/report/<role>.vkey``), never by keys a document carries.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from battrace.api.context import ApiContext, get_context
from battrace.api.errors import ApiError
from battrace.api.models import Problem
from battrace.api.negotiation import wants_html
from battrace.api.pages import render
from battrace.api.report_page import report_view
from battrace.api.store import has_table
from battrace.report.reviews import Review, certify
from battrace.report.signing import load_signed
from battrace.store import reports as report_store

router = APIRouter(tags=["reports"])
Context = Annotated[ApiContext, Depends(get_context)]


class ReportList(BaseModel):
    """Consignments with a report (or only those whose current report awaits its review)."""

    awaiting_review: bool = Field(description="true: only reports nobody has co-signed or refused yet")
    shipment_ids: list[str] = Field(description="consignment ids, oldest draft first")


@router.get(
    "/reports",
    response_model=ReportList,
    summary="Consignments with a traceability report",
    responses={404: {"model": Problem, "description": "this store has no reports tables"}},
)
def list_reports(
    ctx: Context,
    awaiting_review: Annotated[bool, Query(description="only reports with no co-signature or refusal yet")] = False,
    limit: Annotated[int, Query(ge=1, le=10_000, description="at most this many ids")] = 1000,
) -> ReportList:
    """What the third-party verifier polls: the drafts it has not reviewed yet (or every reported consignment)."""
    _require_tables(ctx)
    if awaiting_review:
        ids = report_store.awaiting_review(ctx.client, limit)
    else:
        ids = report_store.reported(ctx.client, limit)
    return ReportList(awaiting_review=awaiting_review, shipment_ids=ids)


@router.get(
    "/reports/{shipment_id}",
    response_model=dict[str, Any],
    summary="Current report of a delivered consignment, with its reviews and certification",
    responses={
        200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "JSON, or a page to browsers"},
        404: {"model": Problem, "description": "no report for this consignment (or no reports tables)"},
        409: {"model": Problem, "description": "the stored draft is not a signed report document"},
    },
)
def get_report(
    shipment_id: Annotated[str, Path(description="consignment id", min_length=1, max_length=200)],
    ctx: Context,
    accept: Annotated[str | None, Header(description="`text/html` first (a browser): the human page")] = None,
) -> Response:
    """The newest sealed draft with every co-signature of its hash appended (`document`), and what the pinned role
    keys make of it: `certified` (both roles signed with pinned keys, no pinned refusal), `verified_roles`,
    `problems`, `refusals` (each with its reasons), and the `missing_fields` the report declares.

    This is the URL the invoice's QR code carries: a browser gets the report's page (certification and compliance
    apart, the batteries linked to their passports), JSON clients the answer itself."""
    answer = report_answer(ctx, shipment_id)
    if wants_html(accept):
        return render("report.html", view=report_view(answer))
    return JSONResponse(answer, headers={"Vary": "Accept"})


def report_answer(ctx: ApiContext, shipment_id: str) -> dict[str, Any]:
    """The JSON answer of ``GET /reports/{id}``; raises ApiError 404 or 409."""
    _require_tables(ctx)
    stored = report_store.current_report(ctx.client, shipment_id)
    if stored is None:
        raise ApiError(
            404,
            "not_found",
            f"no report for consignment {shipment_id}: a report is drafted once its delivery is sealed",
            {"shipment_id": shipment_id},
        )
    try:
        draft = load_signed(stored.document)
    except ValueError:
        draft = None
    if not isinstance(draft, dict):
        raise ApiError(
            409,
            "not_verified",
            f"the stored report of {shipment_id} is not a signed report document; run `battrace verify --all`",
            {"shipment_id": shipment_id},
        )
    reviews = [Review.from_row(r) for r in stored.reviews]
    certification = certify(draft, reviews, ctx.report_keys)
    return {
        "shipment_id": shipment_id,
        "report_hash": stored.report_hash,
        **certification.to_json(),
        "missing_fields": stored.missing_fields,
        "reviews": len(reviews),
        "document": certification.document,
    }


def _require_tables(ctx: ApiContext) -> None:
    if not (has_table(ctx.client, "reports") and has_table(ctx.client, "report_reviews")):
        raise ApiError(404, "no_reports", "this store has no reports tables: reports are not issued by this version")
