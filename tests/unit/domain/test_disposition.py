"""The disposition report of a recycled batch: every pack upstream, through black mass and lots refined again, with
its origin vehicle, collection transporter licence, dismantling date and receiving facility; a batch with any
missing or contradicting link is ineligible, each reason naming the lot or pack."""

from __future__ import annotations

from dataclasses import replace

import pytest

from battrace.domain.disposition import (
    CollectionStep,
    DismantlingStep,
    Facts,
    NotRecycled,
    PackHistory,
    RecyclingStep,
    report,
)

DAY = 86_400_000
T = 1_767_225_600_000
VIN_A, VIN_B = "LSVAA4182E2184101", "LSVAA4182E2184102"


def _dismantled(pack: str, lot: str, vin: str | None, site: str = "CN-JS-CHANGZHOU-DSM") -> DismantlingStep:
    return DismantlingStep(f"dis-{pack}", T + 2 * DAY, pack, "CN-DSM-001", site, lot, vin)


def _collected(pack: str, vin: str | None, licence: str | None = "RTL-350900-2024-0082") -> CollectionStep:
    return CollectionStep(f"col-{pack}", T + DAY, "CN-COL-001", "CN-SH-JIADING-COL", vin, licence)


def _facts() -> Facts:
    """Two packs dismantled into BM-1 and BM-2, refined together into NI-1 and LI-1; LI-1 refined again into LI-2."""
    batch = RecyclingStep(
        "rec-1",
        T + 5 * DAY,
        "CN-RCY-001",
        "CN-HB-JINGMEN-RCY",
        (("BM-1", 150.0), ("BM-2", 140.0)),
        (("NI-1", 40.0), ("LI-1", 9.0)),
    )
    again = RecyclingStep("rec-2", T + 9 * DAY, "CN-RCY-001", "CN-HB-JINGMEN-RCY", (("LI-1", 9.0),), (("LI-2", 8.0),))
    return Facts(
        recycled_into={"NI-1": batch, "LI-1": batch, "LI-2": again},
        dismantled_into={"BM-1": _dismantled("P1", "BM-1", VIN_A), "BM-2": _dismantled("P2", "BM-2", None)},
        packs={
            "P1": PackHistory((_collected("P1", VIN_A),), (VIN_A,)),
            "P2": PackHistory((_collected("P2", VIN_B),), (VIN_B,)),
        },
    )


def test_a_batch_with_every_link_names_its_vehicles_dates_licences_and_facilities() -> None:
    found = report("NI-1", _facts())
    assert found.eligible and found.gaps == ()
    assert found.vins == [VIN_A, VIN_B]
    assert found.disposition == "recovered 40 kg by CN-RCY-001 at CN-HB-JINGMEN-RCY"
    p1 = found.packs[0].to_json()
    assert p1 == {
        "battery_id": "P1",
        "black_mass_lot": "BM-1",
        "vin": VIN_A,
        "dismantled_at_ms": T + 2 * DAY,
        "dismantler_id": "CN-DSM-001",
        "receiving_facility": "CN-JS-CHANGZHOU-DSM",
        "collected_at_ms": T + DAY,
        "collector_id": "CN-COL-001",
        "transporter_licence": "RTL-350900-2024-0082",
    }
    assert found.to_json()["eligible"] is True and found.to_json()["reasons"] == []


def test_a_lot_refined_again_reaches_the_packs_of_the_first_batch() -> None:
    found = report("LI-2", _facts())
    assert [p.battery_id for p in found.packs] == ["P1", "P2"] and found.eligible


def _with_pack(facts: Facts, pack: str, history: PackHistory) -> Facts:
    return replace(facts, packs={**facts.packs, pack: history})


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda f: _with_pack(f, "P2", PackHistory((), (VIN_B,))),
            "P2: missing_collection: dismantled without a collection",
        ),
        (
            lambda f: _with_pack(f, "P2", PackHistory((_collected("P2", VIN_B, None),), (VIN_B,))),
            "P2: missing_transporter_licence",
        ),
        (lambda f: _with_pack(f, "P2", PackHistory((_collected("P2", None),), ())), "P2: missing_vin"),
        (
            lambda f: _with_pack(f, "P2", PackHistory((_collected("P2", VIN_A),), (VIN_B,))),
            "P2: vin_mismatch: declared VIN",
        ),
        (
            lambda f: replace(f, dismantled_into={**f.dismantled_into, "BM-2": _dismantled("P2", "BM-2", VIN_A)}),
            "P2: vin_mismatch: collection and dismantling",
        ),
        (
            lambda f: replace(
                f, dismantled_into={**f.dismantled_into, "BM-2": _dismantled("P2", "BM-2", None, site="")}
            ),
            "P2: missing_facility",
        ),
        (lambda f: replace(f, dismantled_into={"BM-1": f.dismantled_into["BM-1"]}), "BM-2: unknown_origin"),
    ],
)
def test_a_missing_or_contradicting_link_makes_the_batch_ineligible_naming_it(change, expected: str) -> None:
    found = report("NI-1", change(_facts()))
    assert not found.eligible
    assert [r for r in found.to_json()["reasons"] if r.startswith(expected)], found.to_json()["reasons"]


def test_a_collection_after_the_dismantling_is_no_link() -> None:
    late = replace(_collected("P2", VIN_B), at_ms=T + 3 * DAY)
    found = report("NI-1", _with_pack(_facts(), "P2", PackHistory((late,), (VIN_B,))))
    assert [g.code for g in found.gaps] == ["missing_collection"]


def test_the_vehicle_it_was_installed_in_stands_when_nothing_was_declared() -> None:
    facts = replace(_facts(), dismantled_into={**_facts().dismantled_into, "BM-1": _dismantled("P1", "BM-1", None)})
    facts = _with_pack(facts, "P1", PackHistory((_collected("P1", None),), (VIN_B, VIN_A)))
    found = report("NI-1", facts)
    assert found.eligible and found.packs[0].vin == VIN_A  # the last installation


def test_a_cycle_in_the_genealogy_ends_the_walk() -> None:
    loop = RecyclingStep("rec-x", T, "R", "S", (("X", 1.0),), (("X", 1.0),))
    found = report("X", Facts({"X": loop}, {}, {}))
    assert found.packs == () and [g.reason() for g in found.gaps] == [
        "X: unknown_origin: no pack was dismantled into any lot upstream of it"
    ]


def test_a_lot_that_no_recycling_produced_is_no_batch() -> None:
    with pytest.raises(NotRecycled):
        report("BM-1", _facts())
