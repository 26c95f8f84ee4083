"""`battrace audit` over a processed simulator run: custody flags, eligibility, footprints, recycled content."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from embedded import embedded_stack, run_sql

from battrace.domain.custody import FLAGS
from battrace.domain.entities import body_of, kind_of
from schemas.codec import Decoder
from streams.simulator import simulate


def _python(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    result = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def audit(home: Path) -> dict:
    """`battrace audit --json`: the counts it prints last."""
    return json.loads(_python(home, "-m", "battrace", "audit", "--json").stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("audit")
    events = list(simulate(3000, seed=7))
    with embedded_stack(home) as stack:
        stack.publish(events)
        stack.process()
    return home, events, audit(home)


def one(home: Path, sql: str):
    return run_sql(home, sql)[0][0]


def test_every_battery_with_energy_has_a_footprint(audited) -> None:
    home, _, summary = audited
    with_energy = one(home, "SELECT count() FROM battrace.batteries FINAL WHERE energy_kwh > 0")
    assert with_energy > 100 and summary["footprints"] == with_energy
    missing = "SELECT count() FROM battrace.batteries FINAL WHERE energy_kwh > 0 AND battery_id NOT IN "
    assert one(home, missing + "(SELECT battery_id FROM battrace.footprints FINAL)") == 0
    bad = "SELECT count() FROM battrace.footprints FINAL WHERE NOT (total_per_kwh >= 0 AND isFinite(total_per_kwh))"
    assert one(home, bad) == 0
    packs = "SELECT min(total_per_kwh) FROM battrace.footprints FINAL WHERE product_type = 'pack'"
    assert one(home, packs) > 0


def test_top_level_footprints_add_up_to_the_ledger(audited) -> None:
    home, _, _ = audited
    top = "battery_id NOT IN (SELECT from_id FROM battrace.genealogy FINAL WHERE relation = 'assembled_into')"
    made = one(home, f"SELECT sum(ifNull(raw_material_kg, 0) + ifNull(production_kg, 0)) FROM battrace.footprints "
               f"FINAL WHERE {top}")  # fmt: skip
    ledger = one(home, "SELECT sum(kg_co2e) FROM battrace.carbon FINAL WHERE entity_type = 'battery' "
                 "AND stage IN ('raw_material', 'production') AND entity_id IN "
                 "(SELECT battery_id FROM battrace.batteries FINAL WHERE energy_kwh > 0)")  # fmt: skip
    assert made == pytest.approx(ledger, rel=1e-9)
    shipped = one(home, f"SELECT sum(ifNull(distribution_kg, 0)) FROM battrace.footprints FINAL WHERE {top}")
    carried = "SELECT shipment_id FROM battrace.shipments FINAL WHERE notEmpty(battery_ids)"
    transport = one(home, "SELECT sum(kg_co2e) FROM battrace.carbon FINAL WHERE entity_type = 'shipment' "
                    f"AND entity_id IN ({carried})")  # fmt: skip
    assert transport > 0 and shipped == pytest.approx(transport, rel=1e-9)


def test_the_simulators_custody_violations_are_flagged_and_nothing_else(audited) -> None:
    home, events, summary = audited
    expected = {(ev.event_id, code) for ev in events for code in ev.expected_flags if code in FLAGS}
    assert expected, "the simulator's run carries custody violations"
    raised = {
        tuple(r) for r in run_sql(home, "SELECT event_id, code FROM battrace.flags FINAL WHERE category = 'custody'")
    }
    assert raised == expected
    assert sum(summary["custody_flags"].values()) >= len(expected)


def test_black_mass_of_a_flagged_dismantling_and_its_recovered_lots_are_ineligible(audited) -> None:
    home, events, summary = audited
    decoder = Decoder()
    tainted = set()
    for ev in events:
        if "expired" in ev.expected_flags:
            record = decoder.decode(ev.value).record
            assert kind_of(record) == "Dismantled"
            tainted.add(body_of(record)["output_lot_id"])
    rows = run_sql(home, "SELECT lot_id, eligible, gaps, gap_nodes, reasons FROM battrace.lot_eligibility FINAL")
    verdicts = {r[0]: r for r in rows}
    assert tainted and tainted <= set(verdicts)
    for lot in tainted:
        assert not verdicts[lot][1] and "expired" in verdicts[lot][2]
    downstream = [r for r in rows if set(r[3]) & tainted]
    assert all(not r[1] and any(reason.startswith(tuple(tainted)) for reason in r[4]) for r in downstream)
    assert summary["ineligible_lots"] == sum(not r[1] for r in rows)
    assert summary["ineligible_lots"] == one(
        home, "SELECT count() FROM battrace.flags FINAL WHERE category = 'eligibility'"
    )


def test_recycled_content_of_packs(audited) -> None:
    home, _, summary = audited
    rows = run_sql(home, "SELECT battery_id, element, share, complete FROM battrace.recycled_content FINAL "
                   "WHERE product_type = 'pack'")  # fmt: skip
    assert rows and summary["recycled_rows"] >= len(rows)
    assert {r[1] for r in rows} == {"Co", "Ni", "Li"}
    assert all(r[2] is None or 0.0 <= r[2] <= 1.0 for r in rows)
    declared = run_sql(home, "SELECT model, site_id, year, element, declared_share FROM "
                       "battrace.recycled_by_model_plant_year")  # fmt: skip
    assert declared and all(r[2] >= 2026 for r in declared)
    assert run_sql(home, "SELECT count() FROM battrace.footprint_by_model_plant")[0][0] > 0


def test_a_rerun_writes_the_same_rows_and_no_duplicates(audited) -> None:
    home, _, first = audited
    second = audit(home)
    for key in ("custody_flags", "ineligible_lots", "footprints", "recycled_rows"):
        assert second[key] == first[key]
    assert second["stale_rows_deleted"] == 0
    for table, key in (("footprints", "battery_id"), ("recycled_content", "battery_id, element"),
                       ("lot_eligibility", "lot_id")):  # fmt: skip
        assert one(home, f"SELECT count() - uniqExact({key}) FROM battrace.{table} FINAL") == 0


def test_report_and_trace_helpers_on_the_audited_store(audited) -> None:
    home, _, _ = audited
    script = """
import json
from battrace.settings import Settings
from battrace.store.client import connect
from battrace.compliance.materials import batteries_with_lot, lots_in_batteries
from battrace.compliance.shipment_report import report_for
client = connect(Settings())
sid = client.query("SELECT shipment_id FROM battrace.shipments FINAL WHERE status = 'delivered' "
                   "AND notEmpty(battery_ids) ORDER BY shipment_id LIMIT 1").result_rows[0][0]
report = report_for(client, sid)
pack = report.battery_ids[0]
lots = lots_in_batteries(client, [pack])
print(json.dumps({"missing": report.missing_fields, "lots": report.lot_ids, "pack": pack,
                  "pack_lots": sorted({x.lot_id for x in lots if not x.upstream_of}),
                  "holders": batteries_with_lot(client, lots[0].lot_id)}))
"""
    out = json.loads(_python(home, "-c", script).stdout.strip().splitlines()[-1])
    for field in ("transport_emissions", "chain_of_custody", "seal", "cathode_material_origin"):
        assert field not in out["missing"]
    assert out["pack_lots"] and set(out["pack_lots"]) <= set(out["lots"])
    assert out["pack"] in out["holders"]


def test_claims_leave_out_the_toll_batch_and_no_longer_meet_on_it(audited) -> None:
    """The simulator's toll batch refines black mass from a lapsed dismantler (ineligible) into recovered lots that
    outweigh their inputs (mass-balance flag); cells consume them. No claim may count their Co, Ni or Li, each is
    listed with both reasons, and a pack whose minimum was met only through them no longer meets it."""
    home, events, summary = audited
    decoder = Decoder()
    toll = set()
    for ev in events:
        if "outputs_exceed_inputs" in ev.expected_flags:
            toll |= {o["lot_id"] for o in body_of(decoder.decode(ev.value).record)["outputs"]}
    assert toll
    traced = "SELECT lot_id FROM battrace.lots FINAL WHERE arrayExists((e, f) -> e IN ('Co', 'Ni', 'Li') AND f > 0, "
    consumed = run_sql(home, "SELECT DISTINCT to_id, from_id FROM battrace.genealogy FINAL "
                       f"WHERE relation = 'consumed_into' AND from_id IN {sorted(toll)} "
                       f"AND from_id IN ({traced} elements, fractions))")  # fmt: skip
    assert consumed, "the run's cells consume the toll batch's lots"
    excluded = run_sql(home, "SELECT battery_id, lot_id, element, reasons, excluded_kg FROM "
                       "battrace.recycled_exclusions FINAL")  # fmt: skip
    left_out = {(r[0], r[1]) for r in excluded}
    assert {(cell, lot) for cell, lot in consumed} <= left_out
    for battery, lot, _, reasons, kg in excluded:
        if lot in toll:
            assert {"lot_ineligible", "mass_balance_exceeded"} <= set(reasons) and kg > 0, (battery, lot, reasons)
    assert summary["excluded_lots"]["lot_ineligible"] >= len({lot for _, lot in consumed})
    assert summary["excluded_lots"]["mass_balance_exceeded"] >= len({lot for _, lot in consumed})
    packs = run_sql(home, "SELECT battery_id, element, share, excluded_kg / element_kg, min_share_2031, meets_2031 "
                    "FROM battrace.recycled_content FINAL WHERE product_type = 'pack' AND element_kg > 0 AND "
                    f"hasAny(excluded_lots, {sorted(toll)})")  # fmt: skip
    assert packs
    over_claims = 0
    for battery, element, share, left_share, minimum, meets in packs:
        assert meets is (share + 1e-9 >= minimum), (battery, element)
        if share + 1e-9 < minimum <= share + left_share:  # the over-claim the toll lots made
            over_claims += 1
            assert meets is False
    assert over_claims > 0, "some pack met a 2031 minimum only through the toll batch's lots"
