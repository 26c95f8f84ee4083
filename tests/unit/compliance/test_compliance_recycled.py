"""Recycled content by mass balance through the genealogy, per battery and element."""

from __future__ import annotations

import pytest

from battrace.compliance.materials import Edge, LotInBattery, apportion, parents_of, subtree, walk
from battrace.compliance.recycled_audit import BatteryRecord, ClaimBasis, LotRecord, battery_inputs, recycled_rows
from battrace.domain.recycled_claims import Genealogy

# Recovered lithium carbonate R was recycled from black mass BM of pack P-OLD, which had been in a vehicle: R is
# post-consumer in full (its own assay declares nothing). Virgin LFP V carries 5 % pre-consumer scrap.
LOTS = {
    "V": LotRecord("V", {"Li": 0.044, "Fe": 0.354}, pre_consumer=0.05),
    "R": LotRecord("R", {"Li": 0.188}),
    "U": LotRecord("U", None),
}
BASIS = ClaimBasis(Genealogy({"BM": [("P-OLD", 20.0)]}, {"R": [("BM", 20.0)]}, {}, frozenset({"P-OLD"})))
CHILDREN = {"P": ["C1", "C2"]}
CONSUMED = {"C1": {"V": 0.65, "R": 0.04}, "C2": {"V": 0.65}}


def by_element(battery: str, consumed=CONSUMED, lots=LOTS, basis=BASIS) -> dict[str, dict]:
    out, _ = recycled_rows([BatteryRecord(battery, "M", "S", "pack", 0)], CHILDREN, consumed, lots, basis)
    return {r["element"]: r for r in out}


def test_cell_share_through_a_recovered_lot() -> None:
    li = by_element("C1")["Li"]
    # V: 0.65 x 0.044 = 0.0286 kg Li, 5 % pre-consumer; R: 0.04 x 0.188 = 0.00752 kg Li, all post-consumer
    assert li["element_kg"] == pytest.approx(0.0286 + 0.00752)
    assert (li["pre_consumer_kg"], li["post_consumer_kg"]) == pytest.approx((0.00143, 0.00752))
    assert li["share"] == pytest.approx(0.00895 / 0.03612)
    assert (li["meets_2031"], li["meets_2036"], li["complete"]) == (True, True, True)
    assert (li["excluded_kg"], li["excluded_lots"], li["missing_reason"]) == (0.0, [], "")


def test_pack_sums_its_cells_inputs() -> None:
    assert battery_inputs("P", CHILDREN, CONSUMED) == pytest.approx({"V": 1.3, "R": 0.04})
    li = by_element("P")["Li"]
    assert li["share"] == pytest.approx((1.3 * 0.044 * 0.05 + 0.04 * 0.188) / (1.3 * 0.044 + 0.04 * 0.188))
    assert li["min_share_2031"] == 0.06 and li["min_share_2036"] == 0.12


def test_absent_element_is_not_applicable_and_an_unassayed_lot_cannot_meet() -> None:
    co = by_element("P")["Co"]
    assert (co["element_kg"], co["share"], co["meets_2031"]) == (0.0, None, None)
    assert co["missing_reason"] == "no cobalt in the assayed input lots"
    li = by_element("C1", {"C1": {"R": 0.04, "U": 1.0}})["Li"]
    assert li["share"] == 1.0 and not li["complete"] and li["meets_2031"] is None
    assert li["unassayed_lots"] == ["U"] and "unassayed input lot(s) U" in li["missing_reason"]


def test_inconsistent_assay_is_missing_not_zero() -> None:
    lots = {"BAD": LotRecord("BAD", {"Li": 0.7, "Fe": 0.6})}
    out, excluded = recycled_rows([BatteryRecord("C1")], {}, {"C1": {"BAD": 1.0}}, lots)
    assert excluded == []
    for r in out:
        assert r["share"] is None and not r["complete"] and r["note"]
        assert (r["element_kg"], r["pre_consumer_kg"], r["post_consumer_kg"], r["excluded_kg"]) == (None,) * 4
        assert (r["meets_2031"], r["meets_2036"]) == (None, None)
        assert r["missing_reason"].startswith("inconsistent assay data: ")


# A cell of 2 kg virgin lithium carbonate V0 (Li 0.1, nothing recycled) topped up with three recovered lots of
# Li 0.2 each: E (0.05 kg) from black mass of a used pack (6 kg) and of an end-of-line reject (2 kg), I (0.1 kg)
# recycled by a chain with a custody gap, and B (0.05 kg) out of a batch whose outputs exceeded its inputs.
CLAIM_LOTS = {
    "V0": LotRecord("V0", {"Li": 0.1}),
    "E": LotRecord("E", {"Li": 0.2}),
    "I": LotRecord("I", {"Li": 0.2}),
    "B": LotRecord("B", {"Li": 0.2}, post_consumer=1.0),
}
CLAIM_BASIS = ClaimBasis(
    Genealogy(
        {"BM-USED": [("P-USED", 6.0)], "BM-REJECT": [("P-REJECT", 2.0)], "BM-3": [("P-3", 5.0)]},
        {"E": [("BM-USED", 6.0), ("BM-REJECT", 2.0)], "I": [("BM-3", 5.0)], "B": [("BM-3", 1.0)]},
        {"V0": (0.0, 0.0)},
        frozenset({"P-USED", "P-3"}),
    ),
    ineligible={"I": "I: expired: Dismantled by CN-DSM-002: licence expired"},
    unbalanced={"B": "B: outputs_exceed_inputs: outputs 1.37 kg > inputs 1 kg"},
)


def test_a_claim_counts_only_eligible_balanced_lots_and_lists_what_it_left_out() -> None:
    """Li in the cell: V0 2 x 0.1 = 0.2 kg, E 0.05 x 0.2 = 0.01 kg, I 0.1 x 0.2 = 0.02 kg, B 0.05 x 0.2 = 0.01 kg:
    0.24 kg. Counted: E only, 0.01 kg split by its inputs' mass: 2/8 pre-consumer (0.0025 kg), 6/8 post-consumer
    (0.0075 kg), so 0.01 / 0.24 = 4.17 %, below the 6 % of 2031 (all three lots counted would claim 16.7 %).
    Left out: I 0.02 kg (lot_ineligible), B 0.01 kg (mass_balance_exceeded)."""
    consumed = {"C9": {"V0": 2.0, "E": 0.05, "I": 0.1, "B": 0.05}}
    out, excluded = recycled_rows([BatteryRecord("C9")], {}, consumed, CLAIM_LOTS, CLAIM_BASIS)
    li = next(r for r in out if r["element"] == "Li")
    assert li["element_kg"] == pytest.approx(0.24)
    assert (li["pre_consumer_kg"], li["post_consumer_kg"]) == pytest.approx((0.0025, 0.0075))
    assert li["share"] == pytest.approx(0.01 / 0.24) and li["meets_2031"] is False and li["meets_2036"] is False
    assert li["excluded_kg"] == pytest.approx(0.03) and li["excluded_lots"] == ["B", "I"]
    rows = {r["lot_id"]: r for r in excluded}
    assert set(rows) == {"B", "I"} and {r["element"] for r in excluded} == {"Li"}
    assert rows["I"]["reasons"] == ["lot_ineligible"] and rows["I"]["excluded_kg"] == pytest.approx(0.02)
    assert rows["I"]["details"] == [CLAIM_BASIS.ineligible["I"]]
    assert rows["B"]["reasons"] == ["mass_balance_exceeded"] and rows["B"]["excluded_kg"] == pytest.approx(0.01)
    assert rows["B"]["battery_id"] == "C9" and "outputs 1.37 kg" in rows["B"]["details"][0]


def test_without_the_audits_verdicts_the_same_cell_over_claims() -> None:
    """The control: the same lots with nothing known against them count all three, 0.04 / 0.24 = 16.7 %."""
    clean = ClaimBasis(CLAIM_BASIS.genealogy)
    consumed = {"C9": {"V0": 2.0, "E": 0.05, "I": 0.1, "B": 0.05}}
    out, excluded = recycled_rows([BatteryRecord("C9")], {}, consumed, CLAIM_LOTS, clean)
    li = next(r for r in out if r["element"] == "Li")
    assert li["share"] == pytest.approx(0.04 / 0.24) and li["meets_2031"] is True and excluded == []


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
