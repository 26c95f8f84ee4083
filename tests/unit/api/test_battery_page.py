"""What a battery's human page says, from verified facts: integrity and compliance apart, the pack's footprint (not
its own ledger lines), genealogy down to the lots, custody steps with their licence status."""

from __future__ import annotations

from dataclasses import replace

from battrace.api.battery_page import battery_view, genealogy, lots_in
from battrace.passport.facts import BatteryEvent, PassportFacts

PACK, MODULE = "CH2PBQB2000001T150000028", "CH2MB082000001T150000009"
CELL_A, CELL_B = "CH2CBL12000001T150000001", "CH2CBL12000001T150000002"
PRIMARY, BLACK_MASS, OUTPUT = "06901234000283.LOT-000002", "06901234000597.LOT-000003", "06901234000597.LOT-000010"
T0 = 1_767_225_600_000
COMPONENTS = {
    PACK: {"battery_id": PACK, "product_type": "pack", "children": [MODULE], "lots": []},
    MODULE: {"battery_id": MODULE, "product_type": "module", "children": [CELL_A, CELL_B], "lots": []},
    CELL_A: {"battery_id": CELL_A, "product_type": "cell", "children": [], "lots": [PRIMARY]},
    CELL_B: {"battery_id": CELL_B, "product_type": "cell", "children": [], "lots": [PRIMARY, BLACK_MASS]},
}
ELIGIBLE = {
    PRIMARY: {"lot_id": PRIMARY, "lot_class": "primary", "eligible": True, "reasons": []},
    BLACK_MASS: {"lot_id": BLACK_MASS, "lot_class": "black_mass", "eligible": True, "reasons": []},
}
SEALS = [{"log_id": "battrace.example/log/1", "records": 5, "size": 834, "root": "9c" * 32, "key_id": "50f171c6"}]
KEY = "battrace.example/log+50f171c6+AePrWV0mxS5mYzA7TYZKa1dSU5lTXYAPZYfsc2gD7g4w"
EXPIRED = "Dismantled by CN-DSM-002 (licence MIIT-WL-2020-012): licence of CN-DSM-002 expired 2025-09-30T00:00:00Z"


def _facts(**changes) -> PassportFacts:
    base = PassportFacts(
        battery_id=PACK,
        chain_length=5,
        chain_head="42" * 32,
        bundle=f"/batteries/{PACK}/bundle",
        projection={
            "battery_id": PACK,
            "product_type": "pack",
            "model": "CH-P24",
            "chemistry": "LFP",
            "mass_kg": 72.19,
            "energy_kwh": 7.68,
            "certification": "",  # the worker's default: not given
            "status": "waste",
            "parent_id": "",
            "children": [MODULE],
            "lots": [],
        },
        events=[
            BatteryEvent("Commissioned", T0, {"battery_id": PACK}, "ev-commissioned"),
            BatteryEvent("EndOfLifeCollected", T0 + 1000, {"battery_id": PACK, "collector_id": "CN-COL-001"}, "ev-col"),
            BatteryEvent(
                "Dismantled",
                T0 + 2000,
                {"battery_id": PACK, "dismantler_id": "CN-DSM-002", "output_lot_id": OUTPUT},
                "ev-dis",
            ),
        ],
        carbon_kg={"production": 2.0},  # the pack's own ledger lines: its assembly energy only
        audited=True,
        footprint={
            "raw_material_kg": 232.4,
            "production_kg": 91.7,
            "distribution_kg": None,
            "end_of_life_kg": None,
            "total_kg": 324.1,
            "total_per_kwh": 0.0879,
            "missing_stages": ["distribution", "end_of_life"],
        },
        recycled=[
            {"element": "Li", "element_kg": 0.684, "pre_consumer_kg": 0.0684, "post_consumer_kg": 0.0, "complete": True}
        ],
        flags=[],
    )
    return replace(base, **changes)


def _view(facts: PassportFacts, eligibility=ELIGIBLE):
    return battery_view(facts, seals=SEALS, trusted_keys=[KEY], components=COMPONENTS, eligibility=eligibility)


def test_a_compliant_battery_verifies_and_has_no_reasons() -> None:
    view = _view(_facts())
    assert view.integrity.verified and view.integrity.chain_length == 5
    assert view.integrity.logs[0].checkpoint_size == 834 and view.integrity.logs[0].signed_by == "50f171c6"
    assert view.integrity.trusted_keys == (KEY,)
    assert view.compliance.status == "compliant" and not view.compliance.reasons
    assert view.compliance.eligible_lots == (PRIMARY, BLACK_MASS)


def test_a_flagged_battery_still_verifies_and_compliance_names_the_flag() -> None:
    flag = {"category": "custody", "code": "expired", "detail": EXPIRED, "event_id": "ev-dis"}
    view = _view(_facts(flags=[flag]))
    assert view.integrity.verified
    assert view.compliance.status == "flagged"
    assert [(r.subject, r.code) for r in view.compliance.reasons] == [(PACK, "custody/expired")]
    steps = {(s.step, s.party): s for s in view.custody}
    assert steps[("EndOfLifeCollected", "CN-COL-001")].licensed
    dismantled = steps[("Dismantled", "CN-DSM-002")]
    assert not dismantled.licensed and "expired" in dismantled.detail


def test_a_custody_flag_of_another_event_does_not_mark_this_step() -> None:
    flag = {"category": "custody", "code": "expired", "detail": EXPIRED, "event_id": "some-other-event"}
    view = _view(_facts(flags=[flag]))
    assert all(s.licensed for s in view.custody)


def test_an_ineligible_lot_deep_in_the_genealogy_flags_the_pack_with_its_reason() -> None:
    eligibility = {**ELIGIBLE, BLACK_MASS: {**ELIGIBLE[BLACK_MASS], "eligible": False, "reasons": ["missing Refined"]}}
    view = _view(_facts(), eligibility)
    assert view.compliance.status == "flagged"
    assert [(r.subject, r.detail) for r in view.compliance.reasons] == [(BLACK_MASS, "missing Refined")]
    assert view.compliance.eligible_lots == (PRIMARY,)


def test_without_an_audit_compliance_is_not_assessed_and_there_is_no_footprint() -> None:
    view = _view(_facts(audited=False, footprint=None, recycled=[]), {})
    assert view.integrity.verified
    assert view.compliance.status == "not_assessed" and "audit" in view.compliance.note
    assert view.carbon.chart is None and "audit" in view.carbon.why_none


def test_carbon_is_the_footprint_per_stage_not_the_own_ledger_lines() -> None:
    view = _view(_facts())
    values = {b.stage: b.value for b in view.carbon.chart.bars}
    assert values == {"raw_material": 232.4, "production": 91.7, "distribution": None, "end_of_life": None}
    assert view.carbon.total_kg == 324.1 and view.carbon.missing_stages == ("Distribution", "End of life")


def test_genealogy_goes_down_to_the_lots_and_marks_recycled_ones() -> None:
    tree = _view(_facts()).genealogy
    assert tree.battery_id == PACK and [m.battery_id for m in tree.children] == [MODULE]
    assert [c.battery_id for c in tree.children[0].children] == [CELL_A, CELL_B]
    lots = {(lot.lot_id, lot.recycled) for lot in lots_in(tree)}
    assert lots == {(PRIMARY, False), (BLACK_MASS, True)}


def test_the_lots_a_battery_was_dismantled_into_are_shown_as_recycled_outputs() -> None:
    view = _view(_facts())
    assert [(lot.lot_id, lot.recycled) for lot in view.outputs] == [(OUTPUT, True)]


def test_a_cycle_in_the_components_ends() -> None:
    looped = {**COMPONENTS, CELL_A: {**COMPONENTS[CELL_A], "children": [PACK]}}
    tree = genealogy(PACK, looped, ELIGIBLE, {})
    assert tree is not None and tree.children[0].children[0].children == []


def test_identity_leaves_out_what_no_source_gave() -> None:
    labels = {f.label: f.value for f in _view(_facts()).identity}
    assert labels["Mass"] == "72.19 kg" and labels["Model"] == "CH-P24"
    assert "Certification" not in labels and "Vehicle (VIN)" not in labels
