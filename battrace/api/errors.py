"""One error shape for every answer that is not a success (see models.Problem), and no 500 on user input."""

from __future__ import annotations

import logging
from typing import Any

from clickhouse_connect.driver.exceptions import ClickHouseError
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)

HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}


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


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return problem(exc.status, exc.error, exc.message, exc.detail, headers=exc.headers)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        error = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return problem(exc.status_code, error, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": e.get("loc"), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
        return problem(422, "invalid_request", "; ".join(str(e["msg"]) for e in errors), {"errors": errors})

    @app.exception_handler(ClickHouseError)
    async def store_error(_: Request, exc: ClickHouseError) -> JSONResponse:
        log.error("ClickHouse query failed: %s", exc)
        return problem(503, "store_unavailable", "the ClickHouse store could not answer; retry later")
