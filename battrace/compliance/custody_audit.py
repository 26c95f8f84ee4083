"""Licensed custody, checked step by step against the licence register at each step's own time.

Every custody step (see ``steps``) goes through ``custody.check_custody``; a step by an unlisted, expired,
not yet valid, revoked or wrongly licensed party, or under a licence number other than the register's,
becomes a ``flags`` row (category ``custody``, seq 0) on the step's subject entities.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from battrace.compliance.registry import Registry, licence_of
from battrace.compliance.steps import Step
from battrace.domain.custody import CustodyFlag, check_custody
from battrace.domain.entities import split_key

CATEGORY = "custody"


@dataclass(frozen=True)
class CheckedStep:
    step: Step
    flag: CustodyFlag | None
    registered_licence: str | None = None  # the register's licence of the party at the step's time, if any

    @property
    def licence(self) -> str | None:
        """The licence the step was taken under: the declared one, else the register's (valid or not) then."""
        return self.step.licence_number or self.registered_licence


def check_steps(steps: Iterable[Step], registry: Registry) -> list[CheckedStep]:
    """Each step with its flag (None = licensed for that role at that time)."""
    return [
        CheckedStep(
            s,
            check_custody(s.party_id, s.roles, s.at_ms, registry, s.licence_number),
            licence_of(registry, s.party_id, s.at_ms),
        )
        for s in steps
    ]


def describe(checked: CheckedStep) -> str:
    """Who, under which licence, and why the step is flagged."""
    s, flag = checked.step, checked.flag
    licence = (
        f"declared licence {s.licence_number}"
        if s.licence_number
        else (f"licence {checked.licence}" if checked.licence else "no licence on the register")
    )
    why = flag.detail if flag else "licensed"
    return f"{s.kind} by {s.party_id} ({licence}): {why}"


def custody_flag_rows(checked: Sequence[CheckedStep]) -> list[dict[str, Any]]:
    """``flags`` rows, one per flagged step and subject; two flags with one key (lab and smelter of the
    same assay, same code) share a row whose detail names both."""
    out: dict[tuple[str, ...], dict[str, Any]] = {}
    for c in checked:
        if c.flag is None:
            continue
        for subject in c.step.subjects:
            entity_type, entity_id = split_key(subject)
            key = (entity_type, entity_id, c.flag.code, c.step.event_id)
            detail = describe(c)
            if key in out:
                out[key]["detail"] += f"; {detail}"
                continue
            out[key] = {
                "entity_type": entity_type,
                "entity_id": entity_id,
                "category": CATEGORY,
                "code": c.flag.code,
                "detail": detail,
                "event_id": c.step.event_id,
                "seq": 0,
                "event_time": c.step.at_ms,
            }
    return list(out.values())
