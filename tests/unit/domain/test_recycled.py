"""Recycled content by mass balance and the Art. 8 minimums, against hand-computed examples."""

from __future__ import annotations

from typing import Any

import pytest

from battrace.domain.recycled import LotInput, check_mass_balance, minimums, recycled_content

NCM = LotInput("L1", 10.0, {"Co": 0.06, "Ni": 0.48, "Li": 0.07}, pre_consumer=0.10, post_consumer=0.05)
RECOVERED_COSO4 = LotInput("L2", 2.0, {"Co": 0.20}, recovered=True)  # assay says 0/0: ours, so post-consumer
LI2CO3 = LotInput("L3", 1.0, {"Li": 0.188}, post_consumer=0.5)


def test_mass_balance_through_three_lots() -> None:
    """Co: L1 10 x 0.06 = 0.6 kg (pre 0.06, post 0.03); L2 2 x 0.20 = 0.4 kg, all post-consumer.
        total 1.0 kg, pre 0.06, post 0.43 -> 49 % recycled.
    Ni: L1 10 x 0.48 = 4.8 kg (pre 0.48, post 0.24) -> 0.72 / 4.8 = 15 %.
    Li: L1 10 x 0.07 = 0.7 kg (pre 0.07, post 0.035); L3 1 x 0.188 = 0.188 kg (post 0.094)
        total 0.888 kg, recycled 0.07 + 0.129 = 0.199 kg -> 0.199 / 0.888 = 22.41 %.
    """
    rc = recycled_content([NCM, RECOVERED_COSO4, LI2CO3])
    co, ni, li = rc.elements["Co"], rc.elements["Ni"], rc.elements["Li"]
    assert (co.total_kg, co.pre_consumer_kg, co.post_consumer_kg) == pytest.approx((1.0, 0.06, 0.43))
    assert co.share == pytest.approx(0.49) and co.pre_consumer_share == pytest.approx(0.06)
    assert (ni.total_kg, ni.recycled_kg, ni.share) == pytest.approx((4.8, 0.72, 0.15))
    assert (li.total_kg, li.pre_consumer_kg, li.post_consumer_kg) == pytest.approx((0.888, 0.07, 0.129))
    assert li.share == pytest.approx(0.199 / 0.888)
    assert rc.complete


def test_targets_met_and_the_2036_boundary() -> None:
    """2031: Co 49 >= 16, Li 22.4 >= 6, Ni 15 >= 6. 2036: Co 49 >= 26, Li 22.4 >= 12, Ni 15 >= 15 (exactly)."""
    rc = recycled_content([NCM, RECOVERED_COSO4, LI2CO3])
    assert rc.targets_met(2030) == {}  # no minimum before 2031
    assert rc.targets_met(2031) == {"Co": True, "Li": True, "Ni": True}
    assert rc.targets_met(2036) == {"Co": True, "Li": True, "Ni": True}
    assert minimums(2035) == {"Co": 0.16, "Li": 0.06, "Ni": 0.06}
    assert minimums(2040) == {"Co": 0.26, "Li": 0.12, "Ni": 0.15}


def test_targets_flagged_for_mostly_virgin_material() -> None:
    """One NCM lot, 2 % pre + 2 % post: every element 4 % recycled; Co 4 < 16, Li 4 < 6, Ni 4 < 6."""
    lot = LotInput("L9", 10.0, {"Co": 0.06, "Ni": 0.48, "Li": 0.07}, pre_consumer=0.02, post_consumer=0.02)
    rc = recycled_content([lot])
    assert rc.elements["Co"].share == pytest.approx(0.04)
    assert rc.targets_met(2031) == {"Co": False, "Li": False, "Ni": False}


def test_absent_element_is_not_applicable() -> None:
    """LFP: no Co or Ni in the inputs -> None (not applicable); Li 0.5 kg x 10 % = 10 % >= 6 %."""
    lfp = LotInput("LFP1", 10.0, {"Li": 0.05, "Fe": 0.35, "P": 0.2}, pre_consumer=0.1)
    rc = recycled_content([lfp])
    assert rc.elements["Co"].share is None
    assert rc.targets_met(2031) == {"Co": None, "Li": True, "Ni": None}


def test_an_unassayed_lot_makes_the_balance_incomplete() -> None:
    rc = recycled_content([NCM, LotInput("L7", 5.0, None)])
    assert rc.unassayed_lots == ("L7",) and not rc.complete
    assert rc.elements["Co"].total_kg == pytest.approx(0.6)  # only what could be weighed
    assert rc.targets_met(2031) == {"Co": False, "Li": False, "Ni": False}  # cannot prove a minimum


@pytest.mark.parametrize(
    "kwargs",
    [
        {"consumed_kg": 0.0},
        {"consumed_kg": -1.0},
        {"pre_consumer": 0.7, "post_consumer": 0.4},
        {"pre_consumer": 1.5},
        {"fractions": {"Co": 0.7, "Ni": 0.7}},
        {"fractions": {"Co": -0.1}},
    ],
)
def test_inconsistent_lot_inputs_are_refused(kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"lot_id": "L", "consumed_kg": 1.0, "fractions": {"Co": 0.1}}
    with pytest.raises(ValueError):
        LotInput(**{**args, **kwargs})


def test_mass_balance_records_the_yield() -> None:
    """Black mass 600 + 400 kg in, 250 kg CoSO4 + 120 kg Li2CO3 out: yield 370 / 1000 = 37 %."""
    mb = check_mass_balance([600, 400], [250, 120])
    assert mb.ok and not mb.exceeds_inputs
    assert (mb.input_kg, mb.output_kg, mb.yield_fraction) == pytest.approx((1000, 370, 0.37))


def test_mass_balance_flags_outputs_above_inputs() -> None:
    """1,000 kg in, tolerance 0.5 % -> outputs up to 1,005 kg pass; 1,010 kg is flagged (yield 101 %)."""
    assert check_mass_balance(1000, 1004).ok
    mb = check_mass_balance(1000, 1010)
    assert mb.exceeds_inputs and not mb.ok and mb.yield_fraction == pytest.approx(1.01)
    assert check_mass_balance(1000, 1010, tolerance=0.02).ok
    with pytest.raises(ValueError):
        check_mass_balance(0, 10)
    with pytest.raises(ValueError):
        check_mass_balance([100, -5], 10)
