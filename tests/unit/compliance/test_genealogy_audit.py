"""Cycles of the sealed genealogy become one flag per entity on them, naming the group."""

from __future__ import annotations

from battrace.compliance.genealogy_audit import CYCLE, cycle_flag_rows


def test_a_two_lot_cycle_flags_both_lots_and_nothing_else() -> None:
    edges = [("lot:A", "lot:B"), ("lot:B", "lot:A"), ("lot:B", "battery:P1"), ("lot:C", "lot:A")]
    rows = cycle_flag_rows(edges)
    assert sorted((r["entity_type"], r["entity_id"]) for r in rows) == [("lot", "A"), ("lot", "B")]
    assert {r["code"] for r in rows} == {CYCLE} and len({r["event_id"] for r in rows}) == 1
    assert all("lot:A, lot:B" in r["detail"] for r in rows)


def test_an_acyclic_genealogy_has_no_flags_and_a_self_loop_has_one() -> None:
    assert cycle_flag_rows([("lot:A", "lot:B"), ("lot:B", "battery:P1")]) == []
    [row] = cycle_flag_rows([("lot:A", "lot:A")])
    assert row["entity_id"] == "A"


def test_a_group_that_grows_gets_another_id_so_its_flags_are_replaced() -> None:
    small = cycle_flag_rows([("lot:A", "lot:B"), ("lot:B", "lot:A")])
    grown = cycle_flag_rows([("lot:A", "lot:B"), ("lot:B", "lot:C"), ("lot:C", "lot:A")])
    assert {r["event_id"] for r in small}.isdisjoint({r["event_id"] for r in grown})
