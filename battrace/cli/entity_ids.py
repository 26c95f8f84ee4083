"""The ids commands take: a battery code's syntax is checked before anything is opened, an id's presence in the
store before any work.

A malformed code is the user's typo (one line naming the wrong position, exit 2); a well-formed id the store does
not hold is an answer about the store (one line, exit 1). Either way the user learns which, instead of an empty
table or a verification "failure" of something that was never there.
"""

from __future__ import annotations

from typing import Any

import click

from battrace.cli.known_errors import FixableError
from battrace.domain.battery_code import LENGTH, code_error
from battrace.domain.entities import entity_key

EXIT_NOT_IN_STORE = 1


class NotInStore(click.ClickException):
    """A well-formed id the store holds no record of: one line, exit 1."""

    exit_code = EXIT_NOT_IN_STORE


def check_battery_code(code: str) -> str:
    """``code`` when it is a GB/T 34014 battery code, else a one-line error naming what is wrong."""
    problem = code_error(code)
    if problem is not None:
        raise FixableError(
            f"not a battery code: {code!r} (expected the {LENGTH}-character GB/T 34014 code; {problem}): "
            "`battrace id check CODE` explains each position"
        )
    return code


def require_in_store(client: Any, entity_type: str, entity_id: str) -> None:
    """Refuse an id with neither a sealed record nor an event naming it (an event without its sealed rows is
    something `verify` must report, so it counts as present)."""
    found = client.query(
        "SELECT (SELECT count() FROM battrace.sealed WHERE entity_type = {t:String} AND entity_id = {i:String}) "
        "+ (SELECT count() FROM battrace.events WHERE has(entities, {e:String}))",
        parameters={"t": entity_type, "i": entity_id, "e": entity_key(entity_type, entity_id)},
    ).result_rows[0][0]
    if not found:
        raise NotInStore(
            f"no {entity_type} {entity_id} in the store: list them with "
            f"battrace query \"SELECT DISTINCT entity_id FROM battrace.sealed WHERE entity_type = '{entity_type}'\""
        )
