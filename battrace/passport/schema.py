"""The passport schema shipped with the package, and the field→Annex XIII point table read from it.

The schema (``schema.json``) is the one place that says which Annex XIII point, and so which audiences, each
attribute belongs to (``x-annex-xiii``); the assembler labels attributes and the audience filter drops them from
this table, so a field cannot be labelled one way and filtered another.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

META = ("format", "audience", "batteryPassportIdentifier", "seal", "secondLife")  # every audience's; not Annex XIII


@cache
def passport_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every built passport document validates against."""
    return json.loads(files("battrace.passport").joinpath("schema.json").read_text(encoding="utf-8"))


@cache
def clusters() -> tuple[str, ...]:
    """The DIN DKE SPEC 99100 clusters, in schema order."""
    return tuple(k for k in passport_schema()["properties"] if k not in META)


@cache
def field_points() -> dict[tuple[str, str], str]:
    """(cluster, attribute) -> its Annex XIII reference, e.g. ``("labels", "resultOfTestReport") -> "3"``."""
    out = {}
    for cluster in clusters():
        for name, spec in passport_schema()["properties"][cluster]["properties"].items():
            out[(cluster, name)] = spec["x-annex-xiii"]
    return out
