"""Rendering the human pages (battery passport, report, problem) from the Jinja2 templates under
battrace/api/templates, autoescaped: every value on a page comes from sources an attacker may have written.

The environment is built on first use, not on import. Each page links only its own stylesheet and carries the same
Content-Security-Policy as the verification page: nothing runs, nothing is fetched from elsewhere.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
    "Vary": "Accept, Authorization",
}


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("battrace.api", "templates"),
        autoescape=True,
        undefined=StrictUndefined,  # a misspelt name fails the page's test instead of rendering empty
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=http_status, headers=PAGE_HEADERS)


def problem_page(status: int, title: str, message: str, hint: str = "") -> HTMLResponse:
    """A human page for an answer that is not the document asked for (unknown code, malformed code ...)."""
    return render("problem.html", status, status=status, title=title, message=message, hint=hint)
