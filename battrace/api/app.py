"""The FastAPI application: read-only routes over one read-only ClickHouse client, plus the verification page and
the operations endpoints (/metrics, /healthz, /readyz; battrace/api/health.py).

/docs and /redoc are served from the Swagger UI and ReDoc files fastapi-offline ships in its wheel, not from a CDN:
the API is often run where the internet is not reachable (a plant's network, an auditor's laptop)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from battrace.api import batteries, errors, health, logs, passports, reports, verification
from battrace.api.context import ApiContext
from battrace.api.store import open_readonly
from battrace.keys import KeyRing
from battrace.settings import Settings

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")
DOCS_STATIC = "/static-docs"  # where fastapi-offline mounts its Swagger UI and ReDoc files
# The page loads nothing from elsewhere; /docs runs Swagger UI's inline start-up script, so it keeps no CSP.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
}
DESCRIPTION = """\
Read-only access to sealed battery records: passports, hash chains, offline verification bundles,
signed log checkpoints and verifier keys, and verification on the server or of an uploaded bundle.

Nothing here writes: every endpoint is a GET except `POST /verify/bundle`, which checks the uploaded
file in memory, and the server's ClickHouse client runs every query with `readonly=1`.
Errors share one body: `{"error": machine-readable code, "message": ..., "detail": {...}}`.
"""
TAGS = [
    {"name": "batteries", "description": "Passport, sealed chain and offline bundles"},
    {"name": "verification", "description": "Recompute and check seals against this deployment's keys"},
    {"name": "logs", "description": "Signed checkpoints of the Merkle logs and the keys that sign them"},
    {"name": "reports", "description": "Signed traceability reports of delivered consignments"},
]


def _version() -> str:
    try:
        return version("battrace")
    except PackageNotFoundError:
        return "0+unknown"


def create_app(settings: Settings) -> FastAPI:
    """Open the store read-only and load the verifier keys now, so a bad setup fails at start, not per request.

    Raises battrace.api.store.StoreError (no store, store in use) or battrace.keys.KeyConfigError.
    """
    client = open_readonly(settings)
    try:
        verifiers = tuple(KeyRing(settings).verifiers())
        report_keys = KeyRing(settings).report_verifiers()
    except Exception:
        client.close()
        raise
    if not verifiers:
        log.warning("no verifier keys under %s: verification endpoints will answer 503", settings.keys_dir)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            client.close()

    app = FastAPIOffline(
        static_url=DOCS_STATIC,
        title="battrace read-only API",
        description=DESCRIPTION,
        version=_version(),
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.context = ApiContext(settings, client, verifiers, report_keys)
    app.state.metrics = health.ApiMetrics()
    errors.install(app)
    for module in (batteries, passports, verification, logs, reports, health):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        if request.url.path == "/" or request.url.path.startswith("/static/"):
            response.headers.update(PAGE_HEADERS)
        return response

    app.add_middleware(health.RequestMetrics, metrics=app.state.metrics)  # outermost: sees every answer's status
    return app
