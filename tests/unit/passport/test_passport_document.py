"""The passport document: valid against the shipped schema, cut per audience by the schema's table, and honest
about what the sealed records do not hold."""

from __future__ import annotations

import json

import jsonschema
import pytest

from battrace.passport.access import AUDIENCES, AUTHORITY, LEGITIMATE_INTEREST, PUBLIC, may_see
from battrace.passport.assemble import assemble, for_audience, passport_identifier
from battrace.passport.facts import BatteryEvent, PassportFacts
from battrace.passport.schema import clusters, field_points, passport_schema

CODE = "CH2CBL12000001T150000001"
LOT_ASSAYED, LOT_BARE = "06901234000597.LOT-000001", "06901234000597.LOT-000002"
COMMISSIONED_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _facts(**changes) -> PassportFacts:
    base = {
        "battery_id": CODE,
        "chain_length": 5,
        "chain_head": "ab" * 32,
        "bundle": "/batteries/x/bundle",
        "projection": {
            "battery_id": CODE,
            "product_type": "cell",
            "chemistry": "NCM",
            "model": "CH-C50",
            "capacity_ah": 50.0,
            "energy_kwh": 0.18,
            "mass_kg": 0.9,
            "certification": "CERT-1",
            "site_id": "CN-AH-HEFEI-CELL",
            "status": "original",
            "parent_id": "CH2MBL12000001T150000001",
            "children": [],
            "lots": [LOT_ASSAYED, LOT_BARE],
            "vehicle_category": "M1",
            "digital_link": "",
        },
        "events": [
            BatteryEvent("Commissioned", COMMISSIONED_MS, {"battery_id": CODE}),
            BatteryEvent("Serviced", COMMISSIONED_MS + 86_400_000, {"state_of_health": 0.93}),
        ],
        "carbon_kg": {"production": 1.5, "raw_material": 2.0},
        "audited": True,
        "footprint": {
            "total_per_kwh": 0.08,
            "raw_material_per_kwh": 0.05,
            "production_per_kwh": 0.03,
            "distribution_per_kwh": None,
            "end_of_life_per_kwh": None,
            "complete": False,
            "missing_stages": ["distribution", "end_of_life"],
        },
        "recycled": [
            {"element": "Co", "element_kg": 0.05, "pre_consumer_kg": 0.005, "post_consumer_kg": 0.0, "complete": False},
            {"element": "Li", "element_kg": 0.0, "pre_consumer_kg": 0.0, "post_consumer_kg": 0.0, "complete": False},
            {
                "element": "Ni",
                "element_kg": None,
                "pre_consumer_kg": None,
                "post_consumer_kg": None,
                "complete": False,
                "missing_reason": "inconsistent assay data: L9: element fractions sum to more than 1",
            },
        ],
        "flags": [{"category": "custody", "code": "expired", "detail": "licence expired", "event_id": "ev-1"}],
        "lots": {
            LOT_ASSAYED: {
                "lot_id": LOT_ASSAYED,
                "product": "NCM811 cathode",
                "assayed": True,
                "elements": ["Co", "Ni"],
                "fractions": [0.06, 0.48],
                "smelter_id": "CID000001",
                "mine_licences": ["ML-1"],
                "origin_country": "CD",
                "certificate_ref": "CERT-A",
                "accreditation": "CNAS L0001",
                "assayed_at": COMMISSIONED_MS,
            },
            LOT_BARE: {"lot_id": LOT_BARE, "assayed": False},
        },
    }
    return PassportFacts(**{**base, **changes})


@pytest.fixture(scope="module")
def full() -> dict:
    return assemble(_facts())


@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_audience_document_validates_against_the_shipped_schema(full: dict, audience: str) -> None:
    jsonschema.Draft202012Validator.check_schema(passport_schema())
    document = json.loads(json.dumps(for_audience(full, audience)))  # as served: plain JSON
    jsonschema.Draft202012Validator(passport_schema()).validate(document)
    assert document["audience"] == audience


@pytest.mark.parametrize("audience", AUDIENCES)
def test_each_field_appears_exactly_for_the_audiences_of_its_annex_point(full: dict, audience: str) -> None:
    """Field by field, from the schema's table: a field the audience may not see is absent (not null)."""
    document = for_audience(full, audience)
    for (cluster, name), point in field_points().items():
        assert (name in document[cluster]) is may_see(audience, point), (audience, cluster, name, point)
        if name in document[cluster]:
            assert audience in document[cluster][name]["access"] and document[cluster][name]["annexXIII"] == point


def test_the_public_sees_no_restricted_value_anywhere_in_the_text(full: dict) -> None:
    public = json.dumps(for_audience(full, PUBLIC))
    for secret in ("CID000001", "ML-1", "0.93", LOT_ASSAYED, "CH2MBL12000001T150000001"):
        assert secret not in public, secret


def test_everyone_sees_the_compliance_flags_as_the_page_behind_the_qr_code_shows_them(full: dict) -> None:
    """Responsible-sourcing information from the due diligence is Annex XIII 1(d), public: the JSON gives each
    audience the flags the page shows every visitor."""
    for audience in AUDIENCES:
        flags = for_audience(full, audience)["supplyChainDueDiligence"]["complianceFlags"]
        assert "licence expired" in json.dumps(flags), audience


def test_audiences_are_a_lattice_not_a_ranking(full: dict) -> None:
    """Art. 77(2): test reports only for authorities, item state of health only for legitimate interest."""
    li, authority = for_audience(full, LEGITIMATE_INTEREST), for_audience(full, AUTHORITY)
    assert "stateOfHealth" in li["performance"] and "stateOfHealth" not in authority["performance"]
    assert "resultOfTestReport" in authority["labels"] and "resultOfTestReport" not in li["labels"]
    assert "materialProvenance" in authority["supplyChainDueDiligence"]
    assert "materialProvenance" not in li["supplyChainDueDiligence"]
    for audience in (LEGITIMATE_INTEREST, AUTHORITY):
        assert "lotComposition" in for_audience(full, audience)["materialComposition"]


def test_the_filter_follows_the_schema_not_the_labels_a_document_carries(full: dict) -> None:
    relabelled = json.loads(json.dumps(full))
    relabelled["labels"]["resultOfTestReport"]["access"] = list(AUDIENCES)
    assert "resultOfTestReport" not in for_audience(relabelled, PUBLIC)["labels"]


def test_values_come_with_units_and_sources(full: dict) -> None:
    mass = full["generalProductInformation"]["batteryMass"]
    assert mass["value"] == 0.9 and mass["unit"] == "kg" and mass["source"]
    assert full["generalProductInformation"]["manufacturingDate"]["value"] == "2026-01"
    assert full["generalProductInformation"]["batteryCategory"]["value"] == "ev"
    assert full["performance"]["stateOfHealth"]["value"] == 0.93
    assert full["performance"]["stateOfHealth"]["lastUpdate"] == "2026-01-02T00:00:00Z"
    assert full["carbonFootprint"]["carbonFootprintTotal"]["value"] == pytest.approx(3.5)
    assert passport_identifier(CODE) == full["batteryPassportIdentifier"] == f"urn:battrace:{CODE.lower()}"


def test_missing_data_is_marked_with_why_never_zero_or_empty(full: dict) -> None:
    assert full["generalProductInformation"]["digitalLink"]["value"] is None
    assert "Digital Link" in full["generalProductInformation"]["digitalLink"]["missing"]
    assert full["labels"]["declarationOfConformity"]["missing"]
    lots = {e["lotId"]: e for e in full["materialComposition"]["lotComposition"]["value"]}
    assert lots[LOT_BARE] == {"lotId": LOT_BARE, "missing": f"no assay for lot {LOT_BARE}"}
    assert lots[LOT_ASSAYED]["massFractions"] == {"Co": 0.06, "Ni": 0.48}
    stages = {s["lifecycleStage"]: s for s in full["carbonFootprint"]["carbonFootprintPerLifecycleStage"]["value"]}
    assert "carbonFootprint" not in stages["distribution"] and stages["distribution"]["missing"]
    recycled = {r["recycledMaterial"]: r for r in full["circularity"]["recycledContent"]["value"]}
    assert recycled["Li"] == {"recycledMaterial": "Li", "missing": "no assayed Li in this battery"}
    assert recycled["Co"]["preConsumerShare"] == pytest.approx(0.1)
    assert recycled["Ni"] == {
        "recycledMaterial": "Ni",
        "missing": "inconsistent assay data: L9: element fractions sum to more than 1",
    }
    assert full["carbonFootprint"]["carbonFootprintPerformanceClass"]["pending"]


def test_projection_defaults_are_missing_not_values() -> None:
    bare = {
        "battery_id": CODE,
        "product_type": "unknown",
        "chemistry": "",
        "mass_kg": 0.0,
        "capacity_ah": 0.0,
        "status": "unknown",
        "lots": [],
        "children": [],
    }
    doc = assemble(_facts(projection=bare, events=[], carbon_kg={}, audited=False, footprint=None, recycled=[]))
    for cluster, name in [
        ("generalProductInformation", "batteryMass"),
        ("performance", "ratedCapacity"),
        ("materialComposition", "batteryChemistry"),
        ("generalProductInformation", "batteryStatus"),
        ("carbonFootprint", "batteryCarbonFootprint"),
        ("circularity", "recycledContent"),
        ("generalProductInformation", "manufacturingDate"),
    ]:
        attribute = doc[cluster][name]
        assert attribute["value"] is None and attribute["missing"], (name, attribute)
    assert "battrace audit" in doc["circularity"]["recycledContent"]["missing"]
    jsonschema.Draft202012Validator(passport_schema()).validate(json.loads(json.dumps(for_audience(doc, AUTHORITY))))


@pytest.mark.parametrize(
    "break_it",
    [
        lambda d: d["generalProductInformation"].__setitem__("inventedField", {"value": 1, "source": "x"}),
        lambda d: (
            d["generalProductInformation"]["batteryMass"].__setitem__("value", 0.9)
            or d["generalProductInformation"]["batteryMass"].pop("unit")
        ),
        lambda d: d["labels"]["declarationOfConformity"].pop("missing"),
        lambda d: d["performance"]["ratedEnergy"].pop("access"),
        lambda d: d.__setitem__("batteryPassportIdentifier", "urn:uuid:0d2c-11"),
        lambda d: d["seal"].__setitem__("verified", False),
    ],
    ids=["unknown-field", "number-without-unit", "null-without-why", "no-access", "bad-urn", "unverified"],
)
def test_the_schema_refuses_broken_documents(full: dict, break_it) -> None:
    document = json.loads(json.dumps(for_audience(full, AUTHORITY)))
    break_it(document)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(passport_schema()).validate(document)


def test_every_cluster_of_the_schema_is_assembled(full: dict) -> None:
    assert list(clusters()) == [
        "generalProductInformation",
        "labels",
        "carbonFootprint",
        "supplyChainDueDiligence",
        "materialComposition",
        "circularity",
        "performance",
    ]
    assert {(c, n) for c in clusters() for n in full[c]} == set(field_points())
