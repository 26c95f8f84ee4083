"""Genealogy cycles: find_cycles against a brute-force reachability check, and a lot recycled into itself flagged."""

from __future__ import annotations

import random
from typing import Any

import pytest

from battrace.domain.chain import event_hash
from battrace.domain.correlate import GENEALOGY, RECYCLED_INTO_ITSELF, apply, new_state
from battrace.domain.genealogy import find_cycles
from schemas.envelope import ChainItem, Envelope

T = 1_767_225_600_000


def _reaches(edges: list[tuple[int, int]], start: int) -> set[int]:
    """Nodes reachable from ``start`` by one edge or more (independent of find_cycles: plain search)."""
    seen: set[int] = set()
    todo = [c for p, c in edges if p == start]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(c for p, c in edges if p == node)
    return seen


def _brute_force(edges: list[tuple[int, int]]) -> list[list[int]]:
    """A node is on a cycle iff it reaches itself; two such nodes share a group iff each reaches the other."""
    nodes = {n for e in edges for n in e}
    reach = {n: _reaches(edges, n) for n in nodes}
    on_cycle = sorted(n for n in nodes if n in reach[n])
    groups: list[list[int]] = []
    for n in on_cycle:
        if not any(n in g for g in groups):
            groups.append(sorted(m for m in on_cycle if m in reach[n] and n in reach[m]))
    return sorted(groups)


@pytest.mark.parametrize(
    ("edges", "cycles"),
    [
        ([], []),
        ([("ore", "lot-a"), ("lot-a", "cell"), ("cell", "pack")], []),  # a plain flow
        ([("lot-a", "lot-a")], [["lot-a"]]),  # recycled into itself
        ([("lot-a", "lot-b"), ("lot-b", "lot-a")], [["lot-a", "lot-b"]]),
        ([("x", "a"), ("a", "b"), ("b", "c"), ("c", "a"), ("c", "y")], [["a", "b", "c"]]),  # tails are not cycles
        ([("a", "b"), ("b", "a"), ("c", "d"), ("d", "c"), ("b", "c")], [["a", "b"], ["c", "d"]]),
        ([("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")], []),  # a diamond joins, it does not loop
    ],
)
def test_cycles_of_small_graphs(edges: list[tuple[str, str]], cycles: list[list[str]]) -> None:
    assert find_cycles(edges) == cycles


def test_random_graphs_agree_with_brute_force() -> None:
    rng = random.Random(5)
    for _ in range(300):
        n = rng.randint(1, 9)
        edges = [(rng.randrange(n), rng.randrange(n)) for _ in range(rng.randint(0, 14))]
        assert find_cycles(edges) == _brute_force(edges), edges


def test_a_deep_genealogy_needs_no_recursion() -> None:
    chain = [(i, i + 1) for i in range(50_000)]
    assert find_cycles(chain) == []
    assert find_cycles([*chain, (50_000, 0)]) == [list(range(50_001))]


def _recycled(entity: str, inputs: list[str], outputs: list[str], offset: int) -> ChainItem:
    body: dict[str, Any] = {
        "recycler_id": "R1",
        "inputs": [{"lot_id": lot, "mass_kg": 100.0} for lot in inputs],
        "outputs": [{"lot_id": lot, "mass_kg": 40.0} for lot in outputs],
    }
    record = {"event_id": f"r{offset}", "event_time": T + offset, "body": ["battrace.mes.Recycled", body]}
    entities = [f"lot:{lot}" for lot in dict.fromkeys([*inputs, *outputs])]
    env = Envelope(
        f"r{offset}",
        "battrace.mes.MesEvent",
        "Recycled",
        T + offset,
        ("mes.events", 0, offset, T),
        event_hash(record["event_id"].encode()),
        record,
        entities,
    )
    return ChainItem.of(entity, env)


def test_a_lot_recycled_into_itself_is_sealed_and_flagged() -> None:
    state = new_state("lot:L1")
    out = apply(state, _recycled("lot:L1", ["L1", "L0"], ["L1"], 1), "log/0", 0, T)
    assert out.sealed is not None  # the event stays sealed: the flag says what is wrong with it
    assert [(f["category"], f["code"], f["entity_id"]) for f in out.flags] == [(GENEALOGY, RECYCLED_INTO_ITSELF, "L1")]


def test_an_ordinary_recycling_step_is_not_flagged() -> None:
    for entity in ("lot:L0", "lot:L1"):
        out = apply(new_state(entity), _recycled(entity, ["L0"], ["L1"], 1), "log/0", 0, T)
        assert out.sealed is not None and out.flags == []
    # an input lot that is not an output is not flagged either, even when another lot loops
    out = apply(new_state("lot:L0"), _recycled("lot:L0", ["L0", "L1"], ["L1"], 2), "log/0", 0, T)
    assert out.flags == []
