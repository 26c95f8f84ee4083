"""The battery lifecycle as an explicit state machine: six phases, five statuses, one pure step per event.

``step`` depends only on (state, event), so replaying a battery's events in the same order gives the same
states and the same violations. An impossible transition is flagged and not applied: the state stays.

Transitions, for the battery whose state this is ("me"):

- Commissioned (me): -> manufacturing / original. A second one is ``already_commissioned``.
- Assembled (me parent or child), MaterialConsumed, EnergyUsed: checks only, no change. Assembly is allowed
  in manufacturing and service (remanufacturing re-assembles); the others only in manufacturing
  (``wrong_phase``). A child must be a lower level than its parent, cell < module < pack (``bad_hierarchy``).
- VehicleIntegrated (me): packs only (``not_a_pack``); -> vehicle_integration, installed_in = VIN. Installing
  a pack that sits in another vehicle is ``already_installed`` (the same VIN again is a refit, fine); one that
  was collected as waste is ``installed_after_collection``. An original pack that was in another vehicle
  before becomes re_used (EU 2023/1542: used again for the purpose it was made for); refitting the same
  vehicle after a repair is not re-use.
- Serviced (me = battery_id): -> service. INSPECTED and REPAIRED keep the status; REFURBISHED makes it
  remanufactured (restored by replacing parts, the EU status closest to refurbishing); REPLACED removes the
  pack from its vehicle (installed_in None; ``not_installed`` if it was in none; ``replacement_missing``
  without a replacement_id). After collection only INSPECTED (triage, no change) and REFURBISHED (the one way
  out of waste: -> service / remanufactured) are allowed, the others are ``serviced_after_collection``.
- Serviced (me = replacement_id): checks only (REPLACED, not collected, not destroyed). Serviced carries no
  VIN, so the spare's own VehicleIntegrated installs it and is what can find it ``already_installed``.
- EndOfLifeCollected (me): -> end_of_life / waste, removed from any vehicle; twice is ``already_collected``.
- Dismantled (me): only after collection (``recycled_without_collection``): dismantling is the battery's
  step into recycling. -> recycling / waste, destroyed; any later event is ``event_after_destruction``.
- Repurposed (me = battery_id, the original): packs only (``not_a_pack``), after a first life (``wrong_phase`` in
  manufacturing); -> second_life / repurposed, out of any vehicle, superseded by the new code. GB/T 34014 re-codes a
  battery for cascade use and EU 2023/1542 Art. 77(7) gives it a new passport linked to the old one, so the second
  life goes on under the new code: any later event of the original's own is ``event_after_repurposing``.
- Repurposed (me = new_battery_id): the new code's first event, in place of a Commissioned: -> second_life /
  repurposed, derived from the original (``already_commissioned`` for a code already in use). What may follow on the
  new code: service (INSPECTED, REPAIRED, REFURBISHED; the phase stays second_life), collection and dismantling as for
  any pack, or another Repurposed (a third life); a vehicle installation or a production step is ``wrong_phase``.
- ConsignmentCreated (me carried): checks only.
- Anything else (Recycled is about lots; positions, assays, licences): ignored.

Every kind but Commissioned (and Repurposed for its new code) needs a commissioned battery (``not_commissioned``).

Arrival order: a chain follows the order events arrive in (that order is what replays reproduce), not their event
times. An entity's own event (published under its key) whose time is before the latest time of the entity's own
events already applied arrived late: it is still chained and applied in arrival order, and flagged ``arrived_late``
with both times, saying that the chain's order and the order things happened in differ there. Events that reach the
chain through another entity's key travel on another partition, so their order against the entity's own says nothing
about the source: they are neither judged nor move the latest time. The rule is a pure function of that time and the
event's, so a replay in the same order flags the same events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from battrace.domain.battery_code import product_type

PHASES = ("manufacturing", "vehicle_integration", "service", "end_of_life", "recycling", "second_life")
STATUSES = ("original", "repurposed", "re_used", "remanufactured", "waste")
SERVICE_ACTIONS = ("INSPECTED", "REPAIRED", "REFURBISHED", "REPLACED")
VIOLATIONS = (
    "not_about_battery",
    "event_after_destruction",
    "not_commissioned",
    "already_commissioned",
    "wrong_phase",
    "bad_hierarchy",
    "not_a_pack",
    "already_installed",
    "installed_after_collection",
    "not_installed",
    "replacement_missing",
    "replacement_mismatch",
    "unknown_action",
    "serviced_after_collection",
    "already_collected",
    "recycled_without_collection",
    "event_after_repurposing",
)
ARRIVED_LATE = "arrived_late"
_LEVEL = {"cell": 0, "module": 1, "pack": 2}
_MANUFACTURING_ONLY = frozenset(["MaterialConsumed", "EnergyUsed"])


@dataclass(frozen=True)
class Violation:
    """A transition that cannot happen: ``code`` is one of VIOLATIONS, ``detail`` says what was seen."""

    code: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


@dataclass(frozen=True)
class Lifecycle:
    """Where a battery is in its life. ``last_vin`` survives removal, to tell re-use from a refit; ``successor`` is
    the code a repurposed original goes on under, ``predecessor`` the original a second-life code came from."""

    phase: str | None = None
    status: str | None = None
    installed_in: str | None = None
    destroyed: bool = False
    last_vin: str | None = None
    successor: str | None = None
    predecessor: str | None = None

    def to_json(self) -> dict[str, Any]:
        # by hand: dataclasses.asdict deep-copies recursively and was a tenth of the seal stage's time
        return {
            "phase": self.phase,
            "status": self.status,
            "installed_in": self.installed_in,
            "destroyed": self.destroyed,
            "last_vin": self.last_vin,
            "successor": self.successor,
            "predecessor": self.predecessor,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Lifecycle:
        """Inverse of to_json; None (no state yet) is a battery never seen. Unknown phase/status raise."""
        if not data:
            return NEW
        state = cls(
            phase=data.get("phase"),
            status=data.get("status"),
            installed_in=data.get("installed_in"),
            destroyed=bool(data.get("destroyed", False)),
            last_vin=data.get("last_vin"),
            successor=data.get("successor"),
            predecessor=data.get("predecessor"),
        )
        if state.phase not in (None, *PHASES) or state.status not in (None, *STATUSES):
            raise ValueError(f"not a lifecycle state: phase {state.phase!r}, status {state.status!r}")
        return state

    @property
    def commissioned(self) -> bool:
        return self.phase is not None


NEW = Lifecycle()


def role_of(kind: str, body: Mapping[str, Any], battery_id: str) -> str | None:
    """How the event names the battery: subject, parent, child, replacement, carried, successor (the new code of a
    Repurposed); None if it does not."""
    if kind == "Assembled":
        if body.get("parent_id") == battery_id:
            return "parent"
        return "child" if battery_id in (body.get("child_ids") or ()) else None
    if kind == "ConsignmentCreated":
        return "carried" if battery_id in (body.get("battery_ids") or ()) else None
    if kind == "Serviced" and body.get("replacement_id") == battery_id and body.get("battery_id") != battery_id:
        return "replacement"
    if kind == "Repurposed" and body.get("new_battery_id") == battery_id and body.get("battery_id") != battery_id:
        return "successor"
    return "subject" if body.get("battery_id") == battery_id else None


def cross_key(kind: str, body: Mapping[str, Any], battery_id: str) -> bool:
    """True when the event reaches this battery through another entity's key (an assembly's parent, the
    serviced pack, a consignment). Such an event can be applied before an earlier event of the battery's
    own key, so a ``not_commissioned`` it raises may be an ordering artefact. Of them only a Repurposed changes the
    state, and only of a code that has none yet (its successor); the new code's own events that overtake it are
    flagged ``not_commissioned``, which a source avoids by sending a second life's events after its Repurposed."""
    return role_of(kind, body, battery_id) in ("child", "replacement", "carried", "successor")


_KINDS = frozenset(
    [
        "Commissioned",
        "Assembled",
        "MaterialConsumed",
        "EnergyUsed",
        "VehicleIntegrated",
        "Serviced",
        "EndOfLifeCollected",
        "Dismantled",
        "ConsignmentCreated",
        "Repurposed",
    ]
)


def step(current: Lifecycle, kind: str, body: Mapping[str, Any], battery_id: str) -> tuple[Lifecycle, Violation | None]:
    """The state after one event and the violation it raises; a violation leaves the state unchanged."""
    if kind not in _KINDS:
        return current, None
    role = role_of(kind, body, battery_id)
    if role is None:
        return current, Violation("not_about_battery", f"{kind} does not name {battery_id}")
    if current.destroyed:
        return current, Violation("event_after_destruction", f"{kind} after {battery_id} was dismantled")
    if current.successor:
        detail = f"{kind} names {battery_id}, repurposed as {current.successor}: its second life goes on under that"
        return current, Violation("event_after_repurposing", detail)
    if role == "successor":
        if current.commissioned:
            detail = f"{battery_id} cannot start a second life: the code is already in phase {current.phase}"
            return current, Violation("already_commissioned", detail)
        return Lifecycle(phase="second_life", status="repurposed", predecessor=body["battery_id"]), None
    if kind == "Commissioned":
        if current.commissioned:
            return current, Violation("already_commissioned", f"{battery_id} is already in phase {current.phase}")
        return Lifecycle(phase="manufacturing", status="original"), None
    if not current.commissioned:
        return current, Violation("not_commissioned", f"{kind} ({role}) before {battery_id} was commissioned")
    violation = _check(current, kind, body, battery_id, role)
    if violation:
        return current, violation
    return _apply(current, kind, body, role), None


def _check(current: Lifecycle, kind: str, body: Mapping[str, Any], me: str, role: str) -> Violation | None:
    phase = current.phase
    if kind in _MANUFACTURING_ONLY and phase != "manufacturing":
        return Violation("wrong_phase", f"{kind} in phase {phase}: a production step after manufacturing")
    if kind == "Assembled":
        if phase not in ("manufacturing", "service"):
            return Violation("wrong_phase", f"assembled in phase {phase}")
        return _hierarchy(body, me, role)
    if kind == "VehicleIntegrated":
        level = product_type(me)
        if level in ("cell", "module"):
            return Violation("not_a_pack", f"a {level} installed in vehicle {body.get('vin')}")
        if phase == "second_life":
            return Violation("wrong_phase", f"{me} was repurposed for another application; installed in {body['vin']}")
        if phase == "end_of_life":
            return Violation("installed_after_collection", f"{me} was collected as waste; installed in {body['vin']}")
        if current.installed_in not in (None, body["vin"]):
            return Violation("already_installed", f"{me} is in {current.installed_in}, cannot go into {body['vin']}")
        return None
    if kind == "Serviced":
        return _check_service(current, body, me, role)
    if kind == "EndOfLifeCollected" and phase == "end_of_life":
        return Violation("already_collected", f"{me} was collected before")
    if kind == "Dismantled" and phase != "end_of_life":
        return Violation("recycled_without_collection", f"{me} dismantled in phase {phase}, without a collection")
    if kind == "Repurposed":
        level = product_type(me)
        if level in ("cell", "module"):
            return Violation("not_a_pack", f"a {level} repurposed as {body['new_battery_id']}")
        if phase == "manufacturing":
            return Violation("wrong_phase", f"{me} repurposed in phase manufacturing: a second life needs a first")
    return None


def _hierarchy(body: Mapping[str, Any], me: str, role: str) -> Violation | None:
    parent = body["parent_id"]
    children = [me] if role == "child" else list(body.get("child_ids") or ())
    for child in children:
        p, c = product_type(parent), product_type(child)
        if p in _LEVEL and c in _LEVEL and _LEVEL[c] >= _LEVEL[p]:
            return Violation("bad_hierarchy", f"a {c} ({child}) cannot go into a {p} ({parent})")
    return None


def _check_service(current: Lifecycle, body: Mapping[str, Any], me: str, role: str) -> Violation | None:
    action = body.get("action")
    if action not in SERVICE_ACTIONS:
        return Violation("unknown_action", f"service action {action!r}")
    if body.get("replacement_id") and body.get("replacement_id") == body.get("battery_id"):
        return Violation("replacement_mismatch", f"{me} named as its own replacement")
    if role == "replacement":
        if action != "REPLACED":
            return Violation("replacement_mismatch", f"{me} named as replacement of a {action} service")
        if current.phase == "end_of_life":
            return Violation("installed_after_collection", f"{me} was collected as waste; fitted as a replacement")
        return None
    if current.phase == "end_of_life" and action not in ("INSPECTED", "REFURBISHED"):
        return Violation("serviced_after_collection", f"{action} after {me} was collected as waste")
    if action == "REPLACED":
        if not body.get("replacement_id"):
            return Violation("replacement_missing", f"{me} REPLACED without a replacement_id")
        if current.installed_in is None:
            return Violation("not_installed", f"{me} REPLACED but it is in no vehicle")
    return None


def _apply(current: Lifecycle, kind: str, body: Mapping[str, Any], role: str) -> Lifecycle:
    if kind == "VehicleIntegrated":
        vin = body["vin"]
        reused = current.status == "original" and current.last_vin not in (None, vin)
        status = "re_used" if reused else current.status
        return replace(current, phase="vehicle_integration", status=status, installed_in=vin, last_vin=vin)
    if kind == "Serviced" and role == "subject":
        action = body["action"]
        if current.phase == "end_of_life" and action == "INSPECTED":
            return current  # triage at the collector
        status = "remanufactured" if action == "REFURBISHED" else current.status
        installed = None if action == "REPLACED" else current.installed_in
        phase = "second_life" if current.phase == "second_life" else "service"  # serviced where it now works
        return replace(current, phase=phase, status=status, installed_in=installed)
    if kind == "EndOfLifeCollected":
        return replace(current, phase="end_of_life", status="waste", installed_in=None)
    if kind == "Dismantled":
        return replace(current, phase="recycling", status="waste", installed_in=None, destroyed=True)
    if kind == "Repurposed":
        new_code = body["new_battery_id"]
        return replace(current, phase="second_life", status="repurposed", installed_in=None, successor=new_code)
    return current


def _utc(ms: int) -> str:
    """RFC 3339 UTC with milliseconds (the flag's detail is stored, so it must not depend on the local zone)."""
    return f"{datetime.fromtimestamp(ms // 1000, UTC):%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def arrived_late(latest_applied_ms: int | None, event_ms: int, kind: str) -> Violation | None:
    """``arrived_late`` when an event's time is before the latest event time its entity already applied (None: the
    entity has applied nothing yet), naming both times and the gap; an event at the same instant is in order."""
    if latest_applied_ms is None or event_ms >= latest_applied_ms:
        return None
    gap_s = (latest_applied_ms - event_ms) / 1000
    return Violation(
        ARRIVED_LATE,
        f"{kind} of {_utc(event_ms)} arrived after an event of {_utc(latest_applied_ms)} was applied "
        f"({gap_s:g} s later)",
    )


def latest_applied(latest_applied_ms: int | None, event_ms: int) -> int:
    """The entity's latest applied event time once this event is applied: a late event does not move it back."""
    return event_ms if latest_applied_ms is None else max(latest_applied_ms, event_ms)
