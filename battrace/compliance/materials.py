"""Genealogy walks: which lots are in a battery, and which batteries hold a lot.

Edges point along the material flow (``battrace/domain/genealogy.py``): lot -consumed_into-> cell,
child -assembled_into-> parent battery, pack -dismantled_into-> black-mass lot, input lot -recycled_into->
recovered lot. A walk issues one query per level of the tree (cells, modules, packs), never one per row.
``as_of_ms`` keeps only edges recorded up to that time, so a report made at delivery ignores later events.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from clickhouse_connect.driver.client import Client

from battrace.compliance.tables import rows

CONSUMED, ASSEMBLED, DISMANTLED, RECYCLED = "consumed_into", "assembled_into", "dismantled_into", "recycled_into"
_FOREVER = 2**62


class Edge(NamedTuple):
    from_id: str
    to_id: str
    mass_kg: float | None  # summed over events; None when the relation carries no mass


class LotInBattery(NamedTuple):
    """A lot behind a battery: consumed directly by ``via_battery`` (a cell), or, when ``upstream_of`` names a
    recovered lot, an input recycled into it (provenance), with the mass of it apportioned to that cell."""

    lot_id: str
    consumed_kg: float | None
    via_battery: str
    upstream_of: str = ""


def edges(
    client: Client,
    relation: str,
    *,
    to_ids: Collection[str] | None = None,
    from_ids: Collection[str] | None = None,
    as_of_ms: int | None = None,
) -> list[Edge]:
    """Edges of one relation, optionally only those into ``to_ids`` or out of ``from_ids``."""
    where = ["relation = {relation:String}", "toUnixTimestamp64Milli(event_time) <= {until:Int64}"]
    params: dict[str, Any] = {"relation": relation, "until": _FOREVER if as_of_ms is None else as_of_ms}
    if to_ids is not None:  # IN, not has(): the primary key (to_type, to_id, ...) then picks the granules
        where.append("to_id IN {to:Array(String)}")
        params["to"] = sorted(set(to_ids))
    if from_ids is not None:
        where.append("from_id IN {frm:Array(String)}")
        params["frm"] = sorted(set(from_ids))
    found = rows(
        client,
        "SELECT from_id, to_id, sum(mass_kg) AS kg, countIf(mass_kg IS NULL) AS massless "
        f"FROM battrace.genealogy FINAL WHERE {' AND '.join(where)} GROUP BY from_id, to_id ORDER BY from_id, to_id",
        **params,
    )
    return [Edge(r["from_id"], r["to_id"], None if r["massless"] else float(r["kg"])) for r in found]


def walk(start: Iterable[str], step: Callable[[set[str]], Iterable[tuple[str, str]]]) -> dict[str, set[str]]:
    """Breadth-first from ``start``: node -> the start nodes it is reached from (start nodes reach themselves).

    ``step(frontier)`` gives (from, to) pairs leaving the frontier; one call per level.
    """
    reached: dict[str, set[str]] = {s: {s} for s in start}
    frontier = set(reached)
    while frontier:
        nxt: set[str] = set()
        for a, b in step(frontier):
            before = len(reached.setdefault(b, set()))
            reached[b] |= reached[a]
            if len(reached[b]) != before:  # new, or reached from more start nodes: walk on from it
                nxt.add(b)
        frontier = nxt
    return reached


def components(client: Client, battery_ids: Collection[str], as_of_ms: int | None = None) -> dict[str, set[str]]:
    """battery -> itself and every battery assembled into it (a pack's modules and their cells)."""

    def down(frontier: set[str]) -> list[tuple[str, str]]:
        return [(e.to_id, e.from_id) for e in edges(client, ASSEMBLED, to_ids=frontier, as_of_ms=as_of_ms)]

    roots: dict[str, set[str]] = {b: set() for b in battery_ids}
    for node, origins in walk(battery_ids, down).items():
        for root in origins:
            roots[root].add(node)
    return roots


def _lot_masses(client: Client, lot_ids: Collection[str]) -> dict[str, float]:
    found = rows(
        client,
        "SELECT lot_id, mass_kg FROM battrace.lots FINAL WHERE has({ids:Array(String)}, lot_id)",
        ids=sorted(set(lot_ids)),
    )
    return {r["lot_id"]: float(r["mass_kg"]) for r in found if r["mass_kg"] and r["mass_kg"] > 0}


def apportion(
    level: Sequence[LotInBattery], into: Mapping[str, Sequence[Edge]], masses: Mapping[str, float]
) -> list[LotInBattery]:
    """The inputs recycled into the lots of ``level``, one level up, with the mass of each that reached the cell.

    An input's part is its ``recycled_into`` mass (already apportioned over the Recycled event's outputs)
    times the consumed fraction of the recovered lot (consumed kg / lot mass); None when a mass is unknown.
    """
    out: list[LotInBattery] = []
    for r in level:
        for e in into.get(r.lot_id, ()):
            known = e.mass_kg is not None and r.consumed_kg is not None and masses.get(r.lot_id)
            share = e.mass_kg * r.consumed_kg / masses[r.lot_id] if known else None
            out.append(LotInBattery(e.from_id, share, r.via_battery, r.lot_id))
    return out


def upstream(client: Client, direct: Iterable[LotInBattery], as_of_ms: int | None = None) -> list[LotInBattery]:
    """Inputs recycled into the given lots, and their inputs, level by level (one query per level)."""
    out: list[LotInBattery] = []
    level = list(direct)
    seen: set[tuple[str, str, str]] = set()
    while level:
        parents = edges(client, RECYCLED, to_ids={r.lot_id for r in level}, as_of_ms=as_of_ms)
        if not parents:
            break
        into: dict[str, list[Edge]] = {}
        for e in parents:
            into.setdefault(e.to_id, []).append(e)
        found = apportion(level, into, _lot_masses(client, {r.lot_id for r in level}))
        level = [r for r in found if (r.lot_id, r.upstream_of, r.via_battery) not in seen]  # a cycle ends here
        seen |= {(r.lot_id, r.upstream_of, r.via_battery) for r in level}
        out += level
    return out


def lots_in_batteries(
    client: Client, battery_ids: Collection[str], as_of_ms: int | None = None, with_upstream: bool = True
) -> list[LotInBattery]:
    """Lots consumed by the batteries or any battery assembled into them (one row per lot and consuming cell),
    then, with ``with_upstream``, the inputs of recovered lots among them as provenance rows."""
    if not battery_ids:
        return []
    cells = set().union(*components(client, battery_ids, as_of_ms).values())
    direct = [
        LotInBattery(e.from_id, e.mass_kg, e.to_id) for e in edges(client, CONSUMED, to_ids=cells, as_of_ms=as_of_ms)
    ]
    return direct + (upstream(client, direct, as_of_ms) if with_upstream else [])


def batteries_with_lot(client: Client, lot_id: str, as_of_ms: int | None = None) -> list[str]:
    """Every battery holding material of the lot: cells consuming it or a lot recovered from it, and the
    modules and packs those cells were assembled into."""

    def recycled(frontier: set[str]) -> list[tuple[str, str]]:
        return [(e.from_id, e.to_id) for e in edges(client, RECYCLED, from_ids=frontier, as_of_ms=as_of_ms)]

    def assembled(frontier: set[str]) -> list[tuple[str, str]]:
        return [(e.from_id, e.to_id) for e in edges(client, ASSEMBLED, from_ids=frontier, as_of_ms=as_of_ms)]

    lots = set(walk([lot_id], recycled))
    cells = {e.to_id for e in edges(client, CONSUMED, from_ids=lots, as_of_ms=as_of_ms)}
    return sorted(walk(cells, assembled)) if cells else []


def assembly(client: Client) -> dict[str, list[str]]:
    """parent battery -> the batteries assembled into it, for the whole store (one query)."""
    children: dict[str, list[str]] = {}
    for e in edges(client, ASSEMBLED):
        children.setdefault(e.to_id, []).append(e.from_id)
    return children


def subtree(children: Mapping[str, Sequence[str]], root: str) -> list[str]:
    """The root and every battery below it, root first (a cycle in bad data is walked once)."""
    out, seen, stack = [], {root}, [root]
    while stack:
        node = stack.pop()
        out.append(node)
        for child in sorted(children.get(node, ()), reverse=True):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return out


def parents_of(children: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """child -> the battery it was assembled into."""
    return {c: p for p, cs in sorted(children.items()) for c in cs}
