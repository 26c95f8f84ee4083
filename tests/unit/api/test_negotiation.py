"""Content negotiation at the passport and report URLs: browsers get the page, API clients keep their JSON.

The Accept headers are the ones the browsers send for a top-level navigation (MDN, "List of default Accept values",
https://developer.mozilla.org/en-US/docs/Web/HTTP/Guides/Content_negotiation/List_of_default_Accept_values) and the
defaults of curl, httpx and requests (``*/*``)."""

from __future__ import annotations

import pytest

from battrace.api.negotiation import wants_html

CHROMIUM = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8"
FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SAFARI = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    "accept", [CHROMIUM, FIREFOX, SAFARI, "text/html", "text/*", "application/json;q=0.5, text/html"]
)
def test_browsers_get_the_page(accept: str) -> None:
    assert wants_html(accept)


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "",
        "*/*",
        "application/json",
        "application/json, text/html",  # a tie: the API's own format
        "text/html;q=0.5, application/json",
        "text/html;q=0, */*",  # text/html explicitly refused
        "text/html;q=bogus, application/json;q=0.1",  # a malformed weight counts as refused
        "image/png",
        " , ;q=1",
    ],
)
def test_api_clients_get_json(accept: str | None) -> None:
    assert not wants_html(accept)


def test_the_most_specific_range_decides() -> None:
    assert wants_html("text/*;q=0.2, text/html;q=0.9, */*;q=0.5")
    assert not wants_html("text/*;q=0.9, text/html;q=0.1, */*;q=0.5")
