"""Who may see which Annex XIII point: the audiences of Regulation (EU) 2023/1542 Art. 77(2).

The audiences form a lattice, not a ranking: persons with a legitimate interest (repairers, remanufacturers,
second-life operators, recyclers) see points 1, 2 and 4; notified bodies, market surveillance authorities and the
Commission see points 1, 2 and 3; the public sees point 1. So ``may_see`` is a table lookup, never ``tier >= n``:
an authority's document leaves out the dynamic item data of point 4, and a recycler's the test reports of point 3.
Which point each attribute belongs to is written once, in the passport schema (``x-annex-xiii``).
"""

from __future__ import annotations

PUBLIC, LEGITIMATE_INTEREST, AUTHORITY = "public", "legitimate_interest", "authority"
AUDIENCES = (PUBLIC, LEGITIMATE_INTEREST, AUTHORITY)
RESTRICTED = (LEGITIMATE_INTEREST, AUTHORITY)  # the audiences a token grants; the public needs none

# Annex XIII point -> audiences that may see it (Art. 77(2)(a)-(c)).
POINT_AUDIENCES: dict[str, frozenset[str]] = {
    "1": frozenset(AUDIENCES),
    "2": frozenset({LEGITIMATE_INTEREST, AUTHORITY}),
    "3": frozenset({AUTHORITY}),
    "4": frozenset({LEGITIMATE_INTEREST}),
}


class UnknownAudience(ValueError):
    """An audience name that is not one of AUDIENCES."""


def point_of(reference: str) -> str:
    """The Annex XIII point of a reference such as ``1(a)`` or ``4(b)``."""
    point = reference.split("(", 1)[0]
    if point not in POINT_AUDIENCES:
        raise ValueError(f"{reference!r} is not an Annex XIII point (1, 2, 3 or 4, optionally with a letter)")
    return point


def audiences_of(reference: str) -> list[str]:
    """The audiences that may see an attribute of this Annex XIII point, in AUDIENCES order."""
    allowed = POINT_AUDIENCES[point_of(reference)]
    return [a for a in AUDIENCES if a in allowed]


def may_see(audience: str, reference: str) -> bool:
    if audience not in AUDIENCES:
        raise UnknownAudience(f"unknown audience {audience!r}: one of {', '.join(AUDIENCES)}")
    return audience in POINT_AUDIENCES[point_of(reference)]
