"""The human page behind ``GET /passport/{code}`` for browsers: gather the verified facts (the same gate as the
JSON passport), add the seal and the components, and render.

A battery that does not verify still gets a page, with a 409: its integrity verdict says NOT verified and names
every problem, and nothing else about it is shown (as the JSON passport shows nothing).
"""

from __future__ import annotations

from fastapi.responses import HTMLResponse

from battrace.api.battery_page import Compliance, Integrity, battery_view, output_lots
from battrace.api.context import ApiContext
from battrace.api.pages import problem_page, render
from battrace.domain.entities import BATTERY
from battrace.passport.gather import NotVerified, UnknownBattery, gather
from battrace.store import page_rows

MAX_PROBLEMS = 50


def bundle_url(battery_id: str) -> str:
    return f"/batteries/{battery_id}/bundle"


def battery_page(ctx: ApiContext, battery_id: str) -> HTMLResponse:
    try:
        facts = gather(ctx.client, ctx.verifiers, battery_id, bundle_url(battery_id))
    except UnknownBattery:
        return problem_page(
            404,
            "Unknown battery",
            f"No battery {battery_id} in this store.",
            "Check the code on the label or the QR code; codes are 24 characters (GB/T 34014).",
        )
    except NotVerified as exc:
        integrity = Integrity(False, problems=tuple(exc.problems[:MAX_PROBLEMS]))
        compliance = Compliance("not_assessed", note="not assessed: the records do not verify")
        return render("battery.html", 409, battery_id=battery_id, view=None, integrity=integrity, compliance=compliance)
    client = ctx.client
    components = page_rows.components(client, battery_id)
    lots = sorted({lot for row in components.values() for lot in row.get("lots") or ()} | set(output_lots(facts)))
    view = battery_view(
        facts,
        seals=page_rows.sealing_checkpoints(client, BATTERY, battery_id),
        trusted_keys=ctx.trusted_keys,
        components=components,
        eligibility=page_rows.lot_eligibility(client, lots),
        shipments=page_rows.shipments_of(client, battery_id),
    )
    return render(
        "battery.html", battery_id=battery_id, view=view, integrity=view.integrity, compliance=view.compliance
    )
