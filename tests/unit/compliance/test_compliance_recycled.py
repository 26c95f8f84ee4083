"""Recycled content by mass balance through the genealogy, per battery and element."""

from __future__ import annotations

import pytest

from battrace.compliance.materials import Edge, LotInBattery, apportion, parents_of, subtree, walk
from battrace.compliance.recycled_audit import BatteryRecord, LotRecord, battery_inputs, recycled_rows

# Black mass BM was recycled into recovered lithium carbonate R (its assay declares no recycled share, but it
# is an output of our Recycled event: post-consumer in full). Virgin LFP V carries 5 % pre-consumer scrap.
LOTS = {
    "V": LotRecord("V", {"Li": 0.044, "Fe": 0.354}, pre_consumer=0.05),
    "R": LotRecord("R", {"Li": 0.188}, recovered=True),
    "U": LotRecord("U", None),
}
CHILDREN = {"P": ["C1", "C2"]}
CONSUMED = {"C1": {"V": 0.65, "R": 0.04}, "C2": {"V": 0.65}}


def by_element(battery: str, consumed=CONSUMED) -> dict[str, dict]:
    out = recycled_rows([BatteryRecord(battery, "M", "S", "pack", 0)], CHILDREN, consumed, LOTS)
    return {r["element"]: r for r in out}


def test_cell_share_through_a_recovered_lot() -> None:
    li = by_element("C1")["Li"]
    # V: 0.65 x 0.044 = 0.0286 kg Li, 5 % pre-consumer; R: 0.04 x 0.188 = 0.00752 kg Li, all post-consumer
    assert li["element_kg"] == pytest.approx(0.0286 + 0.00752)
    assert (li["pre_consumer_kg"], li["post_consumer_kg"]) == pytest.approx((0.00143, 0.00752))
    assert li["share"] == pytest.approx(0.00895 / 0.03612)
    assert (li["meets_2031"], li["meets_2036"], li["complete"]) == (True, True, True)


def test_pack_sums_its_cells_inputs() -> None:
    assert battery_inputs("P", CHILDREN, CONSUMED) == pytest.approx({"V": 1.3, "R": 0.04})
    li = by_element("P")["Li"]
    assert li["share"] == pytest.approx((1.3 * 0.044 * 0.05 + 0.04 * 0.188) / (1.3 * 0.044 + 0.04 * 0.188))
    assert li["min_share_2031"] == 0.06 and li["min_share_2036"] == 0.12


def test_absent_element_is_not_applicable_and_an_unassayed_lot_never_meets() -> None:
    co = by_element("P")["Co"]
    assert (co["element_kg"], co["share"], co["meets_2031"]) == (0.0, None, None)
    li = by_element("C1", {"C1": {"R": 0.04, "U": 1.0}})["Li"]
    assert li["share"] == 1.0 and not li["complete"] and li["meets_2031"] is False
    assert li["unassayed_lots"] == ["U"]


def test_inconsistent_assay_is_reported_not_weighed() -> None:
    lots = {"BAD": LotRecord("BAD", {"Li": 0.7, "Fe": 0.6})}
    out = recycled_rows([BatteryRecord("C1")], {}, {"C1": {"BAD": 1.0}}, lots)
    assert all(r["share"] is None and not r["complete"] and r["note"] for r in out)


def test_upstream_lots_take_their_apportioned_part_of_the_consumed_recovered_lot() -> None:
    # R (10 kg) came from black mass BM1 (30 kg in, of which 8 kg apportioned to R) and BM2 (2 kg to R);
    # the cell consumed 0.04 kg of R, i.e. 0.4 % of it.
    level = [LotInBattery("R", 0.04, "C1")]
    into = {"R": [Edge("BM1", "R", 8.0), Edge("BM2", "R", 2.0)]}
    up = apportion(level, into, {"R": 10.0})
    assert up == [
        LotInBattery("BM1", pytest.approx(0.032), "C1", "R"),
        LotInBattery("BM2", pytest.approx(0.008), "C1", "R"),
    ]
    assert apportion(level, into, {})[0].consumed_kg is None  # unknown lot mass: unknown part


def test_walks_and_trees() -> None:
    tree = {"P": ["M1", "M2"], "M1": ["C1", "C2"], "M2": ["C3"]}
    assert subtree(tree, "P") == ["P", "M1", "C1", "C2", "M2", "C3"]
    assert parents_of(tree)["C3"] == "M2"
    up = {"C1": "M1", "C2": "M1", "C3": "M2", "M1": "P", "M2": "P"}
    reached = walk(["C1", "C3"], lambda frontier: [(n, up[n]) for n in sorted(frontier) if n in up])
    assert reached == {"C1": {"C1"}, "C3": {"C3"}, "M1": {"C1"}, "M2": {"C3"}, "P": {"C1", "C3"}}
