"""Whether a request wants the human page or the JSON document at the same URL (HTTP content negotiation).

The QR code on a report and a passport link open the URL in a browser, which asks for ``text/html`` first; API
clients ask for ``application/json`` or anything (``*/*``, curl's and httpx's default) and keep getting JSON. So
HTML is served only when the client ranks ``text/html`` strictly above JSON. Parsing a header this small does not
justify a dependency; RFC 9110 §12.5.1 is the reference for the grammar (media ranges, ``q`` weights).
"""

from __future__ import annotations


def _ranges(accept: str) -> list[tuple[str, float]]:
    """(media range, weight) of each element of an Accept header; malformed weights count as 0."""
    out = []
    for element in accept.split(","):
        media, *params = (part.strip() for part in element.split(";"))
        if not media:
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    weight = 0.0
        out.append((media.lower(), weight))
    return out


def _weight(ranges: list[tuple[str, float]], media_type: str) -> float:
    """The weight of the most specific range matching ``media_type`` (0: not acceptable)."""
    kind = media_type.split("/")[0]
    for candidate in (media_type, f"{kind}/*", "*/*"):
        for media, weight in ranges:
            if media == candidate:
                return weight
    return 0.0


def wants_html(accept: str | None) -> bool:
    """True when the client ranks text/html above application/json; no header or a tie: JSON."""
    if not accept:
        return False
    ranges = _ranges(accept)
    return _weight(ranges, "text/html") > _weight(ranges, "application/json")
