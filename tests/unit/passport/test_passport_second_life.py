"""Art. 77(7) in the passport: the repurposed battery's passport names the original it came from, the original's
names the code it went on under, for every audience, and both validate against the shipped schema."""

from __future__ import annotations

import json

import jsonschema
import pytest

from battrace.passport.access import AUDIENCES
from battrace.passport.assemble import assemble, for_audience
from battrace.passport.facts import BatteryEvent, PassportFacts
from battrace.passport.schema import passport_schema

ORIGINAL = "X12PEPM27KLPCLX2M2382320"
SECOND = "X12PEPM27SL001N1A0000001"
T = 1_767_225_600_000
REPURPOSED = BatteryEvent(
    "Repurposed",
    T,
    {
        "battery_id": ORIGINAL,
        "new_battery_id": SECOND,
        "repurposer_id": "CN-MFR-001",
        "application": "stationary energy storage",
        "state_of_health": 0.8,
    },
)


def _facts(battery_id: str, events: list[BatteryEvent]) -> PassportFacts:
    projection = {"battery_id": battery_id, "product_type": "pack", "status": "repurposed"}
    return PassportFacts(battery_id, len(events), "ab" * 32, f"/batteries/{battery_id}/bundle", projection, events)


def _link(other: str) -> dict:
    return {
        "operation": "repurposing",
        "batteryId": other,
        "passportIdentifier": f"urn:battrace:{other.lower()}",
        "date": "2026-01-01T00:00:00Z",
        "repurposerId": "CN-MFR-001",
        "application": "stationary energy storage",
    }


@pytest.mark.parametrize("audience", AUDIENCES)
def test_both_passports_link_to_each_other_for_every_audience(audience: str) -> None:
    new = for_audience(assemble(_facts(SECOND, [REPURPOSED])), audience)
    old = for_audience(assemble(_facts(ORIGINAL, [BatteryEvent("Commissioned", T - 1, {}), REPURPOSED])), audience)
    assert new["secondLife"] == {"derivedFrom": [_link(ORIGINAL)], "repurposedAs": []}
    assert old["secondLife"] == {"derivedFrom": [], "repurposedAs": [_link(SECOND)]}
    validator = jsonschema.Draft202012Validator(passport_schema())
    for document in (new, old):
        validator.validate(json.loads(json.dumps(document)))


def test_a_later_repurposing_the_lifecycle_refused_is_not_a_link() -> None:
    again = BatteryEvent("Repurposed", T + 1, {**REPURPOSED.body, "new_battery_id": "X12PEPM27SL002N1A0000002"})
    doc = assemble(_facts(ORIGINAL, [REPURPOSED, again]))
    assert [link["batteryId"] for link in doc["secondLife"]["repurposedAs"]] == [SECOND]


def test_a_battery_without_a_second_life_says_so_with_empty_links() -> None:
    assert assemble(_facts(ORIGINAL, []))["secondLife"] == {"derivedFrom": [], "repurposedAs": []}
