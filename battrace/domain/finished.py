"""Which entity states are finished, and the tombstone that stands in for a finished state in the worker's table.

The seal stage keeps every entity's state in a table with a changelog, so both would grow with history. Entities
whose story is over are rarely touched again: a destroyed (dismantled) battery, and a delivered consignment once a
horizon of event time has passed since its last event. Their state is replaced by a tombstone holding what a later
event needs without the full state: the chain head (seq, head) it extends, and the source offsets it applied (so a
redelivered item is still recognised). On the rare event that touches one again, the full state is rebuilt from the
sealed events (processors/evicted.py) and must end at the tombstone's head.

Time is event time against the newest event time the seal stage has applied, never the wall clock: the same input
evicts the same entities. Lots (inputs to other batteries' footprints for years) and parties stay.
"""

from __future__ import annotations

from typing import Any

from battrace.domain.entities import BATTERY, SHIPMENT

DAY_MS = 86_400_000
EVICTED = "evicted"  # the tombstone's marker key; its value says why the state left
DESTROYED, DELIVERED = "destroyed", "delivered"


def horizon_ms(days: float) -> int:
    """BATTRACE_EVICT_AFTER_DAYS in milliseconds; 0 turns eviction off."""
    return round(days * DAY_MS)


def delivered(state: dict[str, Any]) -> bool:
    """A consignment that has been delivered (it becomes finished once the horizon has passed)."""
    return state.get("type") == SHIPMENT and state.get("status") == DELIVERED


def finished(state: dict[str, Any], newest_ms: int, horizon: int, delivered_ms: int | None = None) -> str | None:
    """Why the state may leave the table (DESTROYED, DELIVERED), or None while it stays.

    ``newest_ms``: the newest time of a source event the seal stage has applied; ``horizon``: horizon_ms(), 0 =
    never; ``delivered_ms``: the time of a consignment's Delivered event (None: not known, it stays). The times are
    those of source events only: a traceability report's steps carry the time they were drafted and reviewed."""
    if horizon <= 0 or EVICTED in state:
        return None
    if state.get("type") == BATTERY:
        return DESTROYED if (state.get("lifecycle") or {}).get("destroyed") else None
    if delivered(state) and delivered_ms is not None and newest_ms - delivered_ms > horizon:
        return DELIVERED
    return None


def tombstone(state: dict[str, Any], reason: str, delivered_ms: int | None = None) -> dict[str, Any]:
    """The small value that replaces a finished state: never empty (a missing key is a new entity). A consignment's
    keeps its delivery time, so that it leaves again at once if an event brings it back."""
    stone = {
        EVICTED: reason,
        "type": state["type"],
        "id": state["id"],
        "seq": state["seq"],
        "head": state["head"],
        "applied": dict(state["applied"]),
    }
    if delivered_ms is not None:
        stone["delivered_ms"] = delivered_ms
    return stone


def is_tombstone(value: Any) -> bool:
    return isinstance(value, dict) and EVICTED in value


class EvictedStateMismatch(RuntimeError):
    """A state rebuilt from the store does not end where its tombstone says: the store and the table disagree."""


def check_rebuilt(entity: str, rebuilt: dict[str, Any], stone: dict[str, Any]) -> None:
    """Raise EvictedStateMismatch unless the rebuilt state has the tombstone's seq, head and applied offsets."""
    for key in ("seq", "head", "applied"):
        if rebuilt.get(key) != stone.get(key):
            raise EvictedStateMismatch(
                f"{entity}: the state rebuilt from ClickHouse has {key} {rebuilt.get(key)!r}, its tombstone in the "
                f"worker's table {stone.get(key)!r}; the store and the table disagree (restore the store, or rebuild "
                "the table by replaying the source topics)"
            )


def applied_offsets(sources: list[tuple[str, int, int]]) -> dict[str, int]:
    """An entity's applied source offsets from the source coordinates of its sealed events: the newest offset per
    source partition (items of one source partition reach an entity in source order)."""
    applied: dict[str, int] = {}
    for topic, partition, offset in sources:
        key = f"{topic}:{partition}"
        applied[key] = max(offset, applied.get(key, -1))
    return applied
