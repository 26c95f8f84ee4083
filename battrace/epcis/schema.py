"""Validation against the official EPCIS 2.0 JSON schema (GS1), shipped as package data (data/README.md: source).

What a partner's EPCIS repository checks on capture, checked before a document leaves: a mapping that drifts from
the standard fails here, not at the partner.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

SCHEMA_FILE = "data/epcis-json-schema.json"  # inside the battrace.epcis package
MAX_PROBLEMS = 20


@cache
def epcis_schema() -> dict[str, Any]:
    return json.loads(resources.files("battrace.epcis").joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


def problems(document: Any, limit: int = MAX_PROBLEMS) -> list[str]:
    """Where ``document`` breaks the EPCIS 2.0 JSON schema, one line each (at most ``limit``); empty when valid."""
    from jsonschema import Draft7Validator

    validator = Draft7Validator(epcis_schema(), format_checker=Draft7Validator.FORMAT_CHECKER)
    found = []
    for error in validator.iter_errors(document):
        where = "/".join(map(str, error.absolute_path)) or "(document)"
        found.append(f"{where}: {error.message[:300]}")
        if len(found) >= limit:
            break
    return found


@cache
def _event_validator() -> Any:
    from jsonschema import Draft7Validator

    schema = {"$ref": "#/definitions/EPCIS-Document-Event", "definitions": epcis_schema()["definitions"]}
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def event_problem(event: Any) -> str | None:
    """The first place where one event breaks the schema's EPCIS event definition, or None: capture checks each event
    of a document on its own, so one bad event is rejected and the others are not."""
    for error in _event_validator().iter_errors(event):
        where = "/".join(map(str, error.absolute_path)) or "(event)"
        return f"{where}: {error.message[:300]}"
    return None
