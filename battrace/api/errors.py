"""One error shape for every answer that is not a success (see models.Problem), and no 500 on user input.

On the URLs a person opens from a label or a QR code (``/passport/...``, ``/reports/...``) a browser gets the same
answer as a short human page instead of the JSON body (battrace/api/negotiation.py decides which is wanted)."""

from __future__ import annotations

import logging
from typing import Any

from clickhouse_connect.driver.exceptions import ClickHouseError
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from battrace.api.negotiation import wants_html
from battrace.api.pages import problem_page

log = logging.getLogger(__name__)

HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}
PAGE_PATHS = ("/passport/", "/reports/")  # what QR codes and labels link to: browsers get pages there
TITLES = {
    401: "Not authorised",
    404: "Not found",
    409: "Not verified",
    422: "Not a valid code",
    503: "Temporarily unavailable",
}


class ApiError(Exception):
    """An answer the client should understand: status, machine-readable ``error`` and a message."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        detail: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.detail = status, error, message, detail
        self.headers = headers


def problem(status: int, error: str, message: str, detail: Any = None, headers: dict | None = None) -> JSONResponse:
    body = {"error": error, "message": message, "detail": jsonable_encoder(detail)}
    return JSONResponse(body, status_code=status, headers=headers)


def for_a_person(request: Request) -> bool:
    """Whether the request is a browser opening one of the page URLs."""
    return request.url.path.startswith(PAGE_PATHS) and wants_html(request.headers.get("accept"))


def answer(
    request: Request, status: int, error: str, message: str, detail: Any = None, headers: dict | None = None
) -> Response:
    if for_a_person(request):
        page = problem_page(status, TITLES.get(status, f"Error {status}"), message[:1].upper() + message[1:])
        page.headers.update(headers or {})
        return page
    return problem(status, error, message, detail, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return answer(request, exc.status, exc.error, exc.message, exc.detail, headers=exc.headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        error = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return answer(request, exc.status_code, error, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": e.get("loc"), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
        return problem(422, "invalid_request", "; ".join(str(e["msg"]) for e in errors), {"errors": errors})

    @app.exception_handler(ClickHouseError)
    async def store_error(_: Request, exc: ClickHouseError) -> JSONResponse:
        log.error("ClickHouse query failed: %s", exc)
        return problem(503, "store_unavailable", "the ClickHouse store could not answer; retry later")
