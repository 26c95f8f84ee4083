"""Lot eligibility from custody steps and genealogy: which lots need which steps, and the reasons given."""

from __future__ import annotations

from compliance_records import DAY, T0, assay, consignment, licence, mes, registry

from battrace.compliance.custody_audit import check_steps
from battrace.compliance.eligibility import (
    BLACK_MASS,
    FEEDSTOCK,
    PRIMARY,
    RECOVERED,
    LotInfo,
    build_provenance,
    eligibility_flag_rows,
    eligibility_rows,
)
from battrace.compliance.steps import steps_of

REGISTER = registry(
    licence("COL-1", "COLLECTOR", "COL-L", T0 - 400 * DAY, T0 + 400 * DAY),
    licence("DSM-OK", "DISMANTLER", "DSM-L", T0 - 400 * DAY, T0 + 400 * DAY),
    licence("DSM-LAPSED", "DISMANTLER", "DSM-OLD", T0 - 900 * DAY, T0 - 100 * DAY),
    licence("RCY-1", "RECYCLER", "RCY-L", T0 - 400 * DAY, T0 + 400 * DAY),
    licence("LAB-1", "LAB", "CNAS-1", T0 - 400 * DAY, T0 + 400 * DAY),
    licence("CID000001", "SMELTER", "RMAP-1", T0 - 400 * DAY, T0 + 400 * DAY),
)


def recycled(event_id: str, at: int, inputs: list[str], outputs: list[str]) -> dict:
    body = {
        "recycler_id": "RCY-1",
        "inputs": [{"lot_id": i, "mass_kg": 10.0} for i in inputs],
        "outputs": [{"lot_id": o, "mass_kg": 1.0} for o in outputs],
    }
    return mes(event_id, "Recycled", at, body)


def verdicts(events: list[dict], lots: dict[str, LotInfo] | None = None):
    checked = check_steps(steps_of(events), REGISTER)
    edges_recycled = [
        (i["lot_id"], o["lot_id"])
        for e in events
        if e["kind"] == "Recycled"
        for i in e["record"]["body"][1]["inputs"]
        for o in e["record"]["body"][1]["outputs"]
    ]
    edges_dismantled = [
        (e["record"]["body"][1]["battery_id"], e["record"]["body"][1]["output_lot_id"])
        for e in events
        if e["kind"] == "Dismantled"
    ]
    known = build_provenance(lots or {}, edges_recycled, edges_dismantled, checked)
    rows, results = eligibility_rows(known)
    return {r["lot_id"]: r for r in rows}, results


def end_of_life(pack: str, dismantler: str, black_mass: str, at: int) -> list[dict]:
    return [
        mes(f"col-{pack}", "EndOfLifeCollected", at, {"battery_id": pack, "collector_id": "COL-1"}),
        mes(
            f"dis-{pack}",
            "Dismantled",
            at + DAY,
            {"battery_id": pack, "dismantler_id": dismantler, "output_lot_id": black_mass},
        ),
        assay(f"as-{black_mass}", at + 2 * DAY, black_mass, "LAB-1", {"Ni": 0.27, "Co": 0.03}),
    ]


def test_recovered_lots_of_a_lapsed_dismantlers_black_mass_are_ineligible_and_say_why() -> None:
    events = [
        *end_of_life("P1", "DSM-LAPSED", "BM1", T0),
        recycled("r1", T0 + 5 * DAY, ["BM1"], ["NI1"]),
        assay("as-NI1", T0 + 6 * DAY, "NI1", "LAB-1", {"Ni": 0.22}),
    ]
    rows, _ = verdicts(events)
    assert (rows["NI1"]["lot_class"], rows["NI1"]["required"]) == (RECOVERED, ["Recycled", "Assay"])
    assert rows["BM1"]["lot_class"] == BLACK_MASS
    assert not rows["NI1"]["eligible"]
    (reason,) = rows["NI1"]["reasons"]
    assert reason.startswith("BM1 (input of NI1): expired: Dismantled by DSM-LAPSED: licence of DSM-LAPSED expired ")
    assert (rows["NI1"]["gaps"], rows["NI1"]["gap_nodes"]) == (["expired"], ["BM1"])


def test_a_fully_licensed_chain_is_eligible() -> None:
    events = [
        *end_of_life("P1", "DSM-OK", "BM1", T0),
        recycled("r1", T0 + 5 * DAY, ["BM1"], ["NI1"]),
        assay("as-NI1", T0 + 6 * DAY, "NI1", "LAB-1", {"Ni": 0.22}),
    ]
    rows, _ = verdicts(events)
    assert rows["NI1"]["eligible"] and rows["BM1"]["eligible"]
    assert rows["NI1"]["reasons"] == []


def test_feedstock_without_a_dismantling_record_is_a_custody_gap() -> None:
    """A pre-2026 inventory lot fed to the recycler: it was never dismantled on record."""
    events = [
        assay("as-OLD", T0, "OLD", "LAB-1", {"Ni": 0.27}),
        recycled("r1", T0 + DAY, ["OLD"], ["NI1"]),
        assay("as-NI1", T0 + 2 * DAY, "NI1", "LAB-1", {"Ni": 0.22}),
    ]
    rows, _ = verdicts(events)
    assert rows["OLD"]["lot_class"] == FEEDSTOCK
    assert rows["NI1"]["reasons"] == ["OLD (input of NI1): missing_step: no Dismantled step recorded"]


def test_a_pack_dismantled_without_collection_leaves_its_black_mass_without_custody() -> None:
    events = [
        mes("dis", "Dismantled", T0, {"battery_id": "P9", "dismantler_id": "DSM-OK", "output_lot_id": "BM9"}),
        assay("as-BM9", T0 + DAY, "BM9", "LAB-1", {"Ni": 0.27}),
    ]
    rows, _ = verdicts(events)
    assert not rows["BM9"]["eligible"]
    assert rows["BM9"]["gap_nodes"] == ["P9"]


def test_only_the_packs_steps_from_its_end_of_life_on_count() -> None:
    """An unlisted haulier that carried the pack when new is flagged on that consignment, not on its black mass;
    one that carries it after collection breaks the waste stream's custody."""
    new_pack = consignment("c-new", T0 - 30 * DAY, "C1", "TRN-ROGUE", "X", battery_ids=["P1"])
    after = consignment("c-eol", T0 + DAY // 2, "C2", "TRN-ROGUE", "X", battery_ids=["P1"])
    base = [*end_of_life("P1", "DSM-OK", "BM1", T0)]
    rows, _ = verdicts([new_pack, *base])
    assert rows["BM1"]["eligible"]
    rows, _ = verdicts([new_pack, *base, after])
    assert rows["BM1"]["gaps"] == ["unlisted"] and rows["BM1"]["gap_nodes"] == ["P1"]


def test_mined_lots_need_an_assay_and_for_cobalt_nickel_lithium_a_licensed_smelter() -> None:
    events = [
        assay("a1", T0, "NCM-OK", "LAB-1", {"Co": 0.06, "Ni": 0.49}, smelter_id="CID000001", sampled_at=T0),
        assay("a2", T0, "NCM-NOSMELTER", "LAB-1", {"Co": 0.06}),
        assay("a3", T0, "GRAPHITE", "LAB-1", {"C": 0.99}),
    ]
    lots = {
        "NCM-OK": LotInfo("NCM-OK", ("Co", "Ni")),
        "NCM-NOSMELTER": LotInfo("NCM-NOSMELTER", ("Co",)),
        "GRAPHITE": LotInfo("GRAPHITE", ("C",)),
        "UNASSAYED": LotInfo("UNASSAYED"),
    }
    rows, _ = verdicts(events, lots)
    assert {k: (r["lot_class"], r["eligible"]) for k, r in rows.items()} == {
        "NCM-OK": (PRIMARY, True),
        "NCM-NOSMELTER": (PRIMARY, False),
        "GRAPHITE": (PRIMARY, True),
        "UNASSAYED": (PRIMARY, False),
    }
    assert rows["NCM-NOSMELTER"]["reasons"] == ["NCM-NOSMELTER: missing_step: no Refined step recorded"]
    assert rows["UNASSAYED"]["gaps"] == ["no_custody_record"]


def test_one_flag_per_ineligible_lot_with_its_first_gap() -> None:
    events = [
        *end_of_life("P1", "DSM-LAPSED", "BM1", T0),
        assay("as-OLD", T0, "OLD", "LAB-1", {"Ni": 0.27}),
        recycled("r1", T0 + 5 * DAY, ["BM1", "OLD"], ["NI1"]),
        assay("as-NI1", T0 + 6 * DAY, "NI1", "LAB-1", {"Ni": 0.22}),
    ]
    _, results = verdicts(events)
    flags = {f["entity_id"]: f for f in eligibility_flag_rows(results, {"NI1": T0 + 5 * DAY})}
    assert set(flags) == {"BM1", "OLD", "NI1"}
    ni1 = flags["NI1"]
    assert (ni1["entity_type"], ni1["category"], ni1["code"], ni1["seq"], ni1["event_time"]) == (
        "lot",
        "eligibility",
        "expired",
        0,
        T0 + 5 * DAY,
    )
    assert ni1["detail"].startswith("BM1 (input of NI1): expired: ")
    assert ni1["detail"].endswith(" (+1 more reason in lot_eligibility)")
