"""Custody steps from event records, their check against the register, and the flag rows they become."""

from __future__ import annotations

from compliance_records import DAY, T0, assay, consignment, licence, logistics, mes, registry

from battrace.compliance.custody_audit import check_steps, custody_flag_rows
from battrace.compliance.registry import licence_of
from battrace.compliance.steps import REFINED, steps_of

REGISTER = registry(
    licence("TRN-1", "TRANSPORTER", "RTL-1", T0 - 400 * DAY, T0 + 400 * DAY),
    licence("MFR-1", "MANUFACTURER", "MIIT-1", T0 - 400 * DAY, T0 + 400 * DAY),
    licence("DSM-1", "DISMANTLER", "DSM-OLD", T0 - 900 * DAY, T0 - 100 * DAY),
    licence("LAB-1", "LAB", "CNAS-1", T0 - 400 * DAY, T0 + 400 * DAY),
    licence("CID000001", "SMELTER", "RMAP-1", T0 - 400 * DAY, T0 + 400 * DAY),
)


def test_a_consignment_step_belongs_to_the_shipment_and_everything_it_carried() -> None:
    found = [
        consignment("e1", T0, "C1", "TRN-1", "RTL-1", battery_ids=["P1", "P2"], lot_ids=["L1"]),
        logistics("e2", "Delivered", T0 + DAY, "C1", {"receiver_id": "MFR-1", "site_id": "S"}),
    ]
    created, delivered = steps_of(found)
    assert (created.kind, created.party_id, created.licence_number) == ("ConsignmentCreated", "TRN-1", "RTL-1")
    assert created.subjects == ("shipment:C1",)
    assert created.holders == ("shipment:C1", "battery:P1", "battery:P2", "lot:L1")
    assert (delivered.party_id, delivered.roles, delivered.licence_number) == ("MFR-1", None, None)
    assert delivered.holders == created.holders


def test_dismantling_is_flagged_on_the_pack_and_held_by_its_black_mass() -> None:
    (step,) = steps_of(
        [mes("e1", "Dismantled", T0, {"battery_id": "P1", "dismantler_id": "DSM-1", "output_lot_id": "BM"})]
    )
    assert step.subjects == ("battery:P1",)
    assert step.holders == ("lot:BM",)


def test_recycling_is_a_step_of_every_output_lot() -> None:
    body = {"recycler_id": "RCY-1", "inputs": [{"lot_id": "BM", "mass_kg": 10.0}], "outputs": [
        {"lot_id": "O1", "mass_kg": 2.0}, {"lot_id": "O2", "mass_kg": 1.0}]}  # fmt: skip
    (step,) = steps_of([mes("e1", "Recycled", T0, body)])
    assert step.subjects == step.holders == ("lot:O1", "lot:O2")


def test_an_assay_names_its_lab_and_its_smelter_at_the_sampling_time() -> None:
    found = [assay("e1", T0, "L1", "LAB-1", {"Co": 0.2}, smelter_id="CID000001", sampled_at=T0 - DAY)]
    lab, smelter = steps_of(found)
    assert (lab.kind, lab.party_id, lab.at_ms) == ("Assay", "LAB-1", T0)
    assert (smelter.kind, smelter.party_id, smelter.roles, smelter.at_ms) == (
        REFINED,
        "CID000001",
        frozenset(["SMELTER"]),
        T0 - DAY,
    )
    assert check_steps([lab, smelter], REGISTER)[1].flag is None


def test_flag_rows_name_the_party_the_licence_and_why() -> None:
    found = [
        consignment("e1", T0, "C1", "TRN-1", "RTL-FORGED", battery_ids=["P1"]),
        mes("e2", "Dismantled", T0, {"battery_id": "P1", "dismantler_id": "DSM-1", "output_lot_id": "BM"}),
        logistics("e3", "Delivered", T0 + DAY, "C1", {"receiver_id": "MFR-1", "site_id": "S"}),
    ]
    rows = custody_flag_rows(check_steps(steps_of(found), REGISTER))
    assert [(r["entity_type"], r["entity_id"], r["code"], r["event_id"], r["seq"]) for r in rows] == [
        ("shipment", "C1", "licence_mismatch", "e1", 0),
        ("battery", "P1", "expired", "e2", 0),
    ]
    assert rows[0]["detail"] == (
        "ConsignmentCreated by TRN-1 (declared licence RTL-FORGED): declared licence 'RTL-FORGED', registry has RTL-1"
    )
    assert rows[1]["detail"].startswith("Dismantled by DSM-1 (licence DSM-OLD): licence of DSM-1 expired ")
    assert rows[1]["event_time"] == T0


def test_lab_and_smelter_flagged_alike_on_one_assay_share_one_row() -> None:
    found = [assay("e1", T0, "L1", "LAB-X", {"Co": 0.2}, smelter_id="CID999999")]
    (row,) = custody_flag_rows(check_steps(steps_of(found), REGISTER))
    assert (row["entity_id"], row["code"]) == ("L1", "unlisted")
    assert "Assay by LAB-X" in row["detail"] and "Refined by CID999999" in row["detail"]


def test_licence_of_is_the_latest_issued_by_then_even_if_lapsed() -> None:
    renewed = registry(
        licence("D", "DISMANTLER", "OLD", T0 - 900 * DAY, T0 - 100 * DAY),
        licence("D", "DISMANTLER", "NEW", T0 + 10 * DAY, T0 + 900 * DAY),
    )
    assert licence_of(renewed, "D", T0) == "OLD"
    assert licence_of(renewed, "D", T0 + 20 * DAY) == "NEW"
    assert licence_of(renewed, "D", T0 - 950 * DAY) == "OLD"  # before any: the first record's
    assert licence_of(renewed, "X", T0) is None
