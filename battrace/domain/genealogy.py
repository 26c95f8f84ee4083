"""Genealogy edges: which entity went into which, with how much mass, from one event.

Cells -> modules -> packs (Assembled), lots -> cells (MaterialConsumed), packs -> black-mass lots
(Dismantled), input lots -> recovered lots (Recycled), an original pack -> the code of its second life
(Repurposed: the same physical battery under a new code, so the edge carries no mass). Stored as rows of
``genealogy`` so that both directions are plain queries: which batteries contain lot X, which lots, smelters
and mines are in Y, which code a repurposed battery came from or went on under.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, TypeVar

from battrace.domain.entities import BATTERY, LOT

REPURPOSED_INTO = "repurposed_into"
"""Relation of the edge from an original pack to the code its second life goes on under."""


def _edge(
    parent: tuple[str, str], child: tuple[str, str], relation: str, mass_kg: float | None, event_id: str, time_ms: int
) -> dict[str, Any]:
    return {
        "from_type": parent[0],
        "from_id": parent[1],
        "to_type": child[0],
        "to_id": child[1],
        "relation": relation,
        "mass_kg": mass_kg,
        "event_id": event_id,
        "event_time": time_ms,
    }


def edges_of(kind: str, body: dict[str, Any], event_id: str, time_ms: int) -> list[dict[str, Any]]:
    """Edges point from what went in to what came out (material flow)."""
    if kind == "MaterialConsumed":
        to = (BATTERY, body["battery_id"])
        return [_edge((LOT, i["lot_id"]), to, "consumed_into", i["mass_kg"], event_id, time_ms) for i in body["inputs"]]
    if kind == "Assembled":
        to = (BATTERY, body["parent_id"])
        return [_edge((BATTERY, c), to, "assembled_into", None, event_id, time_ms) for c in body["child_ids"]]
    if kind == "Dismantled":
        to = (LOT, body["output_lot_id"])
        return [_edge((BATTERY, body["battery_id"]), to, "dismantled_into", body["output_mass_kg"], event_id, time_ms)]
    if kind == "Repurposed":
        original, new = (BATTERY, body["battery_id"]), (BATTERY, body["new_battery_id"])
        return [_edge(original, new, REPURPOSED_INTO, None, event_id, time_ms)]
    if kind == "Recycled":
        total_out = sum(o["mass_kg"] for o in body["outputs"]) or 1.0
        return [
            # the input's mass apportioned to each output by the outputs' masses
            _edge(
                (LOT, i["lot_id"]),
                (LOT, o["lot_id"]),
                "recycled_into",
                i["mass_kg"] * o["mass_kg"] / total_out,
                event_id,
                time_ms,
            )
            for i in body["inputs"]
            for o in body["outputs"]
        ]
    return []


Node = TypeVar("Node", bound=Hashable)


def find_cycles(edges: Iterable[tuple[Node, Node]]) -> list[list[Node]]:
    """The cycles of a material-flow graph given as (parent, child) edges: each group of nodes that lie on a common
    cycle (a strongly connected component of two or more nodes, or one node with an edge to itself), sorted, the
    groups in sorted order. Material cannot flow back into what it came from, so every group found is a data error
    (a lot recycled into itself, a pack listed among its own cells); the audit can name each with its nodes.

    Tarjan's algorithm without recursion (a genealogy can be deeper than Python's stack), linear in the edges."""
    graph: dict[Node, list[Node]] = {}
    looped: set[Node] = set()
    for parent, child in edges:
        graph.setdefault(parent, []).append(child)
        graph.setdefault(child, [])
        if parent == child:
            looped.add(parent)
    order: dict[Node, int] = {}  # discovery index
    low: dict[Node, int] = {}
    on_stack: set[Node] = set()
    stack: list[Node] = []
    groups: list[list[Node]] = []
    for root in graph:
        if root in order:
            continue
        work: list[tuple[Node, int]] = [(root, 0)]  # (node, index of its next child to visit)
        while work:
            node, next_child = work[-1]
            if next_child == 0:
                order[node] = low[node] = len(order)
                stack.append(node)
                on_stack.add(node)
            children = graph[node]
            if next_child < len(children):
                work[-1] = (node, next_child + 1)
                child = children[next_child]
                if child not in order:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], order[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == order[node]:
                group: list[Node] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1 or node in looped:
                    groups.append(sorted(group))  # type: ignore[type-var]
    return sorted(groups)  # type: ignore[type-var]
