"""Footprints on a processed, audited simulator store: legs and hubs, whole lives complete, honest analyst totals.

The analysts' queries are read from docs/analysts.md itself and run as written, so a query whose total stops
being the sum of its parts, or a page that drifts from the views, fails here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from embedded import embedded_stack, run_sql

from streams.simulator import simulate

ANALYSTS = Path(__file__).resolve().parents[3] / "docs" / "analysts.md"
STAGES = ("raw_material", "production", "distribution", "end_of_life")


def _battrace(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "battrace", *args], env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12,000 events of seed 3: packs are collected, dismantled and their black mass recycled within the run, and
    a consignment by rail, rail, rail and road (Hefei to Zwickau by the land bridge) is delivered."""
    home = tmp_path_factory.mktemp("totals")
    events = list(simulate(12000, seed=3))
    with embedded_stack(home) as stack:
        stack.publish(events)
        stack.process(reports_of=events)
    result = _battrace(home, "audit", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    return home


def analyst_queries() -> list[str]:
    """The SQL of every `battrace query` in the analysts' page (docs/analysts.md), as written there."""
    section = ANALYSTS.read_text(encoding="utf-8")
    found = re.findall(r'battrace query --table "(.*?)"\n```', section, flags=re.S)
    return [" ".join(line.strip() for line in sql.splitlines()) for sql in found]


def named_rows(home: Path, sql: str) -> list[dict]:
    names = [r[0] for r in run_sql(home, f"DESCRIBE ({sql})")]
    return [dict(zip(names, row, strict=True)) for row in run_sql(home, sql)]


def test_a_multimodal_consignments_legs_cover_its_track_and_each_has_its_mode(audited: Path) -> None:
    """Leg t.km / tonnes = leg km: the legs add up to the whole GPS track; each mode is charged at its own factor."""
    legs = run_sql(
        audited,
        "SELECT c.entity_id, groupArray(c.factor_id), sum(c.quantity) / (any(s.gross_mass_kg) / 1000), "
        "any(s.distance_km), countIf(c.source = 'hub') FROM battrace.carbon AS c FINAL "
        "INNER JOIN (SELECT shipment_id, gross_mass_kg, distance_km FROM battrace.shipments FINAL) AS s "
        "ON s.shipment_id = c.entity_id WHERE c.entity_type = 'shipment' AND c.source = 'transport' "
        "GROUP BY c.entity_id",
    )
    assert legs, "delivered consignments have transport lines"
    for shipment, _, km, track_km, _ in legs:
        assert km == pytest.approx(track_km, rel=1e-9), shipment
    multimodal = [r for r in legs if len(set(r[1])) > 1]
    assert multimodal, "the run has consignments across more than one mode"
    assert any(sorted(set(r[1])) == ["defra.hgv.average", "defra.rail.freight"] for r in multimodal)
    hubs = run_sql(
        audited, "SELECT entity_id, count() FROM battrace.carbon FINAL WHERE source = 'hub' GROUP BY entity_id"
    )
    transport_lines = {r[0]: len(r[1]) for r in legs}
    assert hubs and all(n == transport_lines[s] - 1 for s, n in hubs)  # one hub between each two legs


def test_a_pack_whose_life_is_over_has_a_complete_footprint(audited: Path) -> None:
    complete = run_sql(
        audited,
        "SELECT battery_id, product_type, raw_material_kg, production_kg, distribution_kg, end_of_life_kg, total_kg, "
        "missing_reasons FROM battrace.footprints FINAL WHERE complete",
    )
    packs = [r for r in complete if r[1] == "pack"]
    assert packs, "a pack collected, dismantled and recycled in the run has a complete footprint"
    assert {r[1] for r in complete} == {"pack", "module", "cell"}  # its modules and cells share its end of life
    for battery, product, *stages, total, reasons in complete:
        assert all(kg is not None and kg > 0 for kg in stages) and reasons == []
        assert total == pytest.approx(sum(stages), rel=1e-12)
        if product != "pack":
            continue
        sources = run_sql(
            audited,
            "SELECT groupUniqArray(source) FROM battrace.carbon FINAL WHERE entity_type = 'battery' "
            f"AND entity_id = '{battery}' AND stage = 'end_of_life'",
        )[0][0]
        assert sorted(sources) == ["collection", "dismantling", "recycling"]
    missing = run_sql(
        audited,
        "SELECT count() FROM battrace.footprints FINAL WHERE NOT complete "
        "AND length(missing_reasons) != length(missing_stages)",
    )
    assert missing == [[0]]  # every missing stage says why


def test_the_footprint_query_of_the_readme_totals_its_parts(audited: Path) -> None:
    sql = next(q for q in analyst_queries() if "footprint_by_model_plant" in q)
    rows = named_rows(audited, sql)
    assert rows
    for r in rows:
        parts = [r[s] for s in STAGES]
        if all(p is not None for p in parts):
            assert r["total"] == pytest.approx(sum(parts), abs=3e-4)  # each column rounded to 4 decimals
        else:
            assert r["total"] is None and r["total_missing"]
    packs = run_sql(audited, "SELECT count() FROM battrace.footprints FINAL WHERE product_type = 'pack'")[0][0]
    assert sum(r["batteries"] for r in rows) == packs  # no pack left out of the groups


def test_the_view_total_is_the_sum_of_the_stage_means_over_the_batteries_that_have_them(audited: Path) -> None:
    view = {
        (m, s, p): (total, [a, b, c, d])
        for m, s, p, total, a, b, c, d in run_sql(
            audited,
            "SELECT model, site_id, product_type, avg_total_per_kwh, avg_raw_material_per_kwh, avg_production_per_kwh,"
            " avg_distribution_per_kwh, avg_end_of_life_per_kwh FROM battrace.footprint_by_model_plant",
        )
    }
    means = "".join(f", avgIf({s}_per_kwh, {s}_per_kwh IS NOT NULL)" for s in STAGES)
    direct = run_sql(
        audited, f"SELECT model, site_id, product_type{means} FROM battrace.footprints FINAL GROUP BY 1, 2, 3"
    )
    assert len(direct) == len(view)
    for m, s, p, *stage_means in direct:
        total, parts = view[(m, s, p)]
        clean = [None if x is None or x != x else x for x in stage_means]  # avgIf over nothing is nan
        assert parts == pytest.approx(clean)
        if any(x is None for x in clean):
            assert total is None
        else:
            assert total == pytest.approx(sum(clean), rel=1e-12)


def test_the_recycled_content_query_of_the_readme_is_its_batteries_summed(audited: Path) -> None:
    sql = next(q for q in analyst_queries() if "recycled_by_model_plant_year" in q)
    assert named_rows(audited, sql)
    groups = run_sql(
        audited,
        "SELECT v.declared_share, d.share, v.batteries, d.n FROM battrace.recycled_by_model_plant_year AS v "
        "INNER JOIN (SELECT model, site_id, toYear(produced_at) AS year, element, product_type, count() AS n, "
        "if(min(complete) AND sum(element_kg) > 0, sum(pre_consumer_kg + post_consumer_kg) / sum(element_kg), NULL) "
        "AS share "
        "FROM battrace.recycled_content FINAL GROUP BY model, site_id, year, element, product_type) AS d "
        "USING (model, site_id, year, element, product_type)",
    )
    assert groups
    for declared, share, batteries, n in groups:
        assert batteries == n
        assert declared == share if share is None else declared == pytest.approx(share, rel=1e-9)


def test_the_store_verifies(audited: Path) -> None:
    result = _battrace(audited, "verify", "--all", "--json")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.returncode == 0 and report["ok"], report.get("failures")


def test_a_signed_report_carries_the_consignments_legs_and_hubs_as_the_ledger_has_them(audited: Path) -> None:
    """The report's transport chain is the shipment's ledger: the same elements, factors and kg, and its total is
    their sum, for the multimodal consignment as for the others."""
    reports = run_sql(audited, "SELECT shipment_id, document FROM battrace.reports FINAL")
    assert reports, "delivered consignments have signed reports"
    multimodal = 0
    for shipment, document in reports:
        transport = json.loads(document)["report"]["fields"]["transport_emissions"]
        if "missing" in transport:
            continue
        ledger = run_sql(
            audited,
            "SELECT splitByChar(':', line_id)[-1], factor_id, kg_co2e FROM battrace.carbon FINAL "
            f"WHERE entity_type = 'shipment' AND entity_id = '{shipment}' ORDER BY line_id",
        )
        chain = sorted((f"{e['kind']}{e['index']}", e["factor_id"], e["kg_co2e"]) for e in transport["chain"])
        assert chain == sorted((tag, factor, pytest.approx(kg, rel=1e-12)) for tag, factor, kg in ledger), shipment
        assert transport["kg_co2e"] == pytest.approx(sum(kg for _, _, kg in ledger), rel=1e-12)
        multimodal += len(transport["modes"]) > 1
    assert multimodal, "the land-bridge consignment's report lists its several legs"
