"""Which recycled mass a claim may count: origins from the inputs, exclusions with their reasons, by hand."""

from __future__ import annotations

import pytest

from battrace.domain.recycled_claims import (
    DECLARED,
    LOT_INELIGIBLE,
    MASS_BALANCE_EXCEEDED,
    ORIGIN_UNKNOWN,
    POST_CONSUMER,
    PRE_CONSUMER,
    RECOVERED,
    UNKNOWN,
    ClaimLot,
    Exclusion,
    Genealogy,
    Origin,
    ancestors,
    excluded_masses,
    lot_exclusions,
    lot_origins,
    mix,
)

# Pack P-USED went into a vehicle; P-REJECT failed its end-of-line test and never left the plant.
# BM-USED (6 kg) and BM-REJECT (2 kg) are their black mass; both were recycled into R-MIX.
# R-POST was recycled from BM-USED alone, R-AGAIN from R-MIX (a recovered lot refined again).
# V is a supplier's lot whose assay declares 5 % pre- and 10 % post-consumer content.
GENEALOGY = Genealogy(
    dismantled_from={"BM-USED": [("P-USED", 6.0)], "BM-REJECT": [("P-REJECT", 2.0)]},
    recycled_from={
        "R-MIX": [("BM-USED", 6.0), ("BM-REJECT", 2.0)],
        "R-POST": [("BM-USED", 3.0)],
        "R-AGAIN": [("R-MIX", 1.0)],
        "R-LOOSE": [("BM-USED", 1.0), ("STOCK", None)],
    },
    declared={"V": (0.05, 0.10), "BM-REJECT": (0.0, 1.0)},
    packs_in_use=frozenset({"P-USED"}),
)


def test_origin_follows_the_packs_and_mixed_inputs_split_by_mass() -> None:
    o = lot_origins(GENEALOGY)
    assert o["BM-USED"] == POST_CONSUMER
    assert o["BM-REJECT"] == PRE_CONSUMER  # the packs' history wins over the assay's declaration
    # R-MIX: 6 kg post-consumer + 2 kg pre-consumer -> 25 % pre, 75 % post
    assert (o["R-MIX"].pre, o["R-MIX"].post, o["R-MIX"].unknown) == pytest.approx((0.25, 0.75, 0.0))
    assert o["R-MIX"].basis == RECOVERED and o["R-AGAIN"] == Origin(0.25, 0.75, 0.0, RECOVERED)
    assert o["R-POST"] == Origin(0.0, 1.0, 0.0, RECOVERED)
    assert o["V"] == Origin(0.05, 0.10, 0.0, DECLARED)


def test_an_input_without_a_mass_or_a_record_leaves_the_origin_unknown() -> None:
    assert lot_origins(GENEALOGY)["R-LOOSE"] == UNKNOWN
    assert mix([(1.0, POST_CONSUMER), (3.0, UNKNOWN)], RECOVERED) == Origin(0.0, 0.25, 0.75, RECOVERED)
    assert mix([], RECOVERED) == UNKNOWN


def test_a_genealogy_cycle_is_unknown_not_a_loop() -> None:
    cyclic = Genealogy({}, {"A": [("B", 1.0)], "B": [("A", 1.0)]}, {}, frozenset())
    assert lot_origins(cyclic)["A"].unknown == pytest.approx(1.0)


def test_exclusions_come_from_the_lot_and_everything_upstream() -> None:
    ineligible = {"R-POST": "R-POST: expired: Dismantled by CN-DSM-002"}
    unbalanced = {"P-REJECT": "P-REJECT: outputs_exceed_inputs: black mass 9 kg > pack 8 kg"}
    assert lot_exclusions("V", GENEALOGY, ineligible, unbalanced) == ()
    (only,) = lot_exclusions("R-POST", GENEALOGY, ineligible, unbalanced)
    assert (only.code, only.detail) == (LOT_INELIGIBLE, ineligible["R-POST"])
    (up,) = lot_exclusions("R-AGAIN", GENEALOGY, ineligible, unbalanced)
    assert up.code == MASS_BALANCE_EXCEEDED and up.detail.endswith("upstream: P-REJECT")
    assert ancestors("R-AGAIN", GENEALOGY) == ["R-AGAIN", "R-MIX", "BM-REJECT", "P-REJECT", "BM-USED", "P-USED"]


def test_excluded_masses_per_lot_and_element() -> None:
    """L1 (excluded, 2 kg x Li 0.2, all recycled): 0.4 kg Li left out; L2 (counted, half its origin untraced,
    1 kg x Li 0.1): 0.05 kg Li left out as origin_unknown; L3 unassayed and L4 virgin: nothing to leave out."""
    bad = (LOT_INELIGIBLE, "why")
    lots = [
        ClaimLot("L1", 2.0, {"Li": 0.2}, POST_CONSUMER, (Exclusion(*bad),)),
        ClaimLot("L2", 1.0, {"Li": 0.1, "Co": 0.0}, Origin(0.0, 0.5, 0.5, RECOVERED)),
        ClaimLot("L3", 1.0, None, POST_CONSUMER),
        ClaimLot("L4", 1.0, {"Li": 0.1}, Origin()),
    ]
    found = {(x.lot_id, x.element): x for x in excluded_masses(lots, ("Co", "Ni", "Li"))}
    assert set(found) == {("L1", "Li"), ("L2", "Li")}
    assert found["L1", "Li"].kg == pytest.approx(0.4) and found["L1", "Li"].reasons[0].code == LOT_INELIGIBLE
    assert found["L2", "Li"].kg == pytest.approx(0.05) and found["L2", "Li"].reasons[0].code == ORIGIN_UNKNOWN
    assert lots[0].counted == (0.0, 0.0) and lots[1].counted == (0.0, 0.5)
