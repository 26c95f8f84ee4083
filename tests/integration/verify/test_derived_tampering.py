"""Editing any derived row users read (decoded events, carbon, projections, flags, audit tables) makes verify fail.

One processed and audited store per module; each case tampers with a fresh copy of it, in a child process of its
own (chDB opens a store in one process at a time), then `battrace verify --all --json` (and `--battery` where the
row is shown for a battery) must exit 1 and name the entity whose row was changed.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from embedded import embedded_stack

from streams.simulator import simulate
from streams.simulator.faults import late_event

_TAMPER = """
import json, sys
from battrace.settings import Settings
from battrace.store.client import connect
client = connect(Settings())
if sys.argv[1] == "select":
    print(json.dumps([list(r) for r in client.query(sys.argv[2]).result_rows]))
else:
    client.command(sys.argv[2], settings={"mutations_sync": 2})
"""


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=600)


def _sql(home: Path, mode: str, statement: str) -> list[list]:
    result = _run(home, "-c", _TAMPER, mode, statement)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout) if mode == "select" else []


def _verify(home: Path, *args: str) -> tuple[int, dict]:
    result = _run(home, "-m", "battrace", "verify", *args, "--json")
    return result.returncode, json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def audited_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("derived")
    with embedded_stack(home) as stack:
        events = list(simulate(3000, seed=7))
        stack.publish(events)
        stack.process(reports_of=events)
        # one event its source sent late: a minute before its battery's commissioning, after that was applied
        [[battery, commissioned_ms]] = _sql(
            home,
            "select",
            "SELECT battery_ids[1], toUnixTimestamp64Milli(event_time) FROM battrace.events "
            "WHERE kind = 'Commissioned' ORDER BY event_id LIMIT 1",
        )
        late = late_event(battery, commissioned_ms - 60_000, events[-1].timestamp_ms, random.Random(3))
        stack.publish([late])
        stack.process()
    audit = _run(home, "-m", "battrace", "audit", "--json")
    assert audit.returncode == 0, audit.stderr[-3000:]
    return home


@pytest.fixture
def home(audited_home: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(audited_home, copy, symlinks=True, ignore=shutil.ignore_patterns("broker"))
    return copy


def test_the_untouched_store_verifies(audited_home: Path) -> None:
    code, report = _verify(audited_home, "--all")
    assert code == 0 and report["ok"], report
    battery = _sql(audited_home, "select", "SELECT min(battery_id) FROM battrace.batteries FINAL")[0][0]
    code, report = _verify(audited_home, "--battery", battery)
    assert code == 0 and report["ok"], report


# (what is changed, SQL selecting [entity type, entity id, row key] of a row to change, SQL changing it (``{key}``),
#  whether the row is shown for a battery, so that `verify --battery` must catch it too)
_BATTERY_EVENT = "SELECT 'battery', battery_ids[1], event_id FROM battrace.events FINAL WHERE kind = '{kind}' "
CASES = {
    "licence-valid-to-in-payload": (
        "SELECT 'party', JSONExtractString(payload, 'entity_id'), event_id FROM battrace.events FINAL "
        "WHERE kind = 'Licence' ORDER BY event_id LIMIT 1",
        "ALTER TABLE battrace.event_store UPDATE payload = replaceRegexpOne(payload, '\"valid_to\":[0-9]+', "
        "'\"valid_to\":4102444800000') WHERE event_id = '{key}'",
        False,
    ),
    "event-time": (
        _BATTERY_EVENT.format(kind="Commissioned") + "ORDER BY event_id LIMIT 1",
        # event_time is the partition key (no UPDATE): a re-inserted row with the same key replaces it
        "INSERT INTO battrace.event_store SELECT * REPLACE (event_time + 1 AS event_time) "
        "FROM battrace.event_store FINAL WHERE event_id = '{key}'",
        True,
    ),
    "event-battery-ids": (
        _BATTERY_EVENT.format(kind="MaterialConsumed") + "ORDER BY event_id LIMIT 1",
        "ALTER TABLE battrace.event_store UPDATE battery_ids = [] WHERE event_id = '{key}'",
        True,
    ),
    "replacing-event-row": (
        _BATTERY_EVENT.format(kind="Commissioned") + "ORDER BY event_id DESC LIMIT 1",
        "INSERT INTO battrace.event_store SELECT * REPLACE (replace(payload, 'Commissioned', 'Serviced') AS payload) "
        "FROM battrace.event_store FINAL WHERE event_id = '{key}'",
        True,
    ),
    "carbon-kg-divided-by-ten": (
        "SELECT entity_type, entity_id, line_id FROM battrace.carbon FINAL WHERE entity_type = 'battery' "
        "ORDER BY line_id LIMIT 1",
        "ALTER TABLE battrace.carbon UPDATE kg_co2e = kg_co2e / 10 WHERE line_id = '{key}'",
        True,
    ),
    "forged-carbon-line": (
        "SELECT entity_type, entity_id, line_id FROM battrace.carbon FINAL WHERE entity_type = 'battery' "
        "ORDER BY line_id DESC LIMIT 1",
        "INSERT INTO battrace.carbon SELECT * REPLACE (concat(line_id, ':forged') AS line_id) "
        "FROM (SELECT * FROM battrace.carbon FINAL WHERE line_id = '{key}')",  # REPLACE's alias hides the column
        True,
    ),
    "battery-phase": (
        "SELECT 'battery', battery_id, battery_id FROM battrace.batteries FINAL WHERE status = 'waste' "
        "ORDER BY battery_id LIMIT 1",
        "ALTER TABLE battrace.batteries UPDATE phase = 'use', status = 'original' WHERE battery_id = '{key}'",
        True,
    ),
    "battery-vin": (
        "SELECT 'battery', battery_id, battery_id FROM battrace.batteries FINAL WHERE vin != '' "
        "ORDER BY battery_id LIMIT 1",
        "INSERT INTO battrace.batteries SELECT * REPLACE ('WVWZZZ1JZXW000001' AS vin, version + 1 AS version) "
        "FROM battrace.batteries FINAL WHERE battery_id = '{key}'",
        True,
    ),
    "lifecycle-flag-deleted": (
        "SELECT entity_type, entity_id, event_id FROM battrace.flags FINAL WHERE category = 'lifecycle' "
        "AND entity_type = 'battery' AND code != 'arrived_late' ORDER BY entity_id LIMIT 1",
        "ALTER TABLE battrace.flags DELETE WHERE category = 'lifecycle' AND code != 'arrived_late' "
        "AND event_id = '{key}'",
        True,
    ),
    "arrived-late-flag-deleted": (
        "SELECT entity_type, entity_id, entity_id FROM battrace.flags FINAL WHERE code = 'arrived_late' "
        "ORDER BY entity_type, entity_id LIMIT 1",
        "ALTER TABLE battrace.flags DELETE WHERE code = 'arrived_late' AND entity_id = '{key}'",
        False,
    ),
    "expired-custody-flag-deleted": (
        "SELECT entity_type, entity_id, event_id FROM battrace.flags FINAL WHERE category = 'custody' "
        "ORDER BY entity_type, entity_id LIMIT 1",
        "ALTER TABLE battrace.flags DELETE WHERE category = 'custody' AND event_id = '{key}'",
        False,
    ),
    "forged-custody-flag": (
        "SELECT 'battery', battery_id, battery_id FROM battrace.batteries FINAL ORDER BY battery_id LIMIT 1",
        "INSERT INTO battrace.flags VALUES ('battery', '{key}', 'custody', 'revoked', 'forged', 'ev-forged', 0, 0)",
        True,
    ),
    "ineligible-lot-made-eligible": (
        "SELECT 'lot', lot_id, lot_id FROM battrace.lot_eligibility FINAL WHERE NOT eligible ORDER BY lot_id LIMIT 1",
        "ALTER TABLE battrace.lot_eligibility UPDATE eligible = true, reasons = [], gaps = [], gap_nodes = [] "
        "WHERE lot_id = '{key}'",
        False,
    ),
    "footprint": (
        "SELECT 'battery', battery_id, battery_id FROM battrace.footprints FINAL ORDER BY battery_id LIMIT 1",
        "ALTER TABLE battrace.footprints UPDATE total_per_kwh = total_per_kwh / 10 WHERE battery_id = '{key}'",
        True,
    ),
    "recycled-content": (
        "SELECT 'battery', battery_id, battery_id FROM battrace.recycled_content FINAL WHERE element_kg > 0 "
        "ORDER BY battery_id LIMIT 1",
        "ALTER TABLE battrace.recycled_content UPDATE share = 1, meets_2031 = true, meets_2036 = true "
        "WHERE battery_id = '{key}'",
        True,
    ),
    "recycled-exclusion-deleted": (
        "SELECT 'battery', battery_id, battery_id FROM battrace.recycled_exclusions FINAL "
        "WHERE has(reasons, 'lot_ineligible') ORDER BY battery_id LIMIT 1",
        "ALTER TABLE battrace.recycled_exclusions DELETE WHERE battery_id = '{key}'",
        True,
    ),
    "recycled-exclusion-counted-after-all": (
        "SELECT 'battery', battery_id, battery_id FROM battrace.recycled_content FINAL WHERE excluded_kg > 0 "
        "ORDER BY battery_id DESC LIMIT 1",
        "ALTER TABLE battrace.recycled_content UPDATE post_consumer_kg = post_consumer_kg + excluded_kg, "
        "excluded_kg = 0, excluded_lots = [] WHERE battery_id = '{key}' AND excluded_kg > 0",
        True,
    ),
    "report-document-edited": (
        "SELECT 'shipment', shipment_id, event_id FROM battrace.reports ORDER BY shipment_id LIMIT 1",
        "ALTER TABLE battrace.reports UPDATE document = replace(document, '\"version\":', '\"version\":9') "
        "WHERE event_id = '{key}'",
        False,
    ),
    "report-unsigned-column": (
        "SELECT 'shipment', shipment_id, event_id FROM battrace.reports ORDER BY shipment_id DESC LIMIT 1",
        "ALTER TABLE battrace.reports UPDATE missing_fields = [], lot_ids = ['L-FORGED'] WHERE event_id = '{key}'",
        False,
    ),
    "report-deleted": (
        "SELECT 'shipment', shipment_id, event_id FROM battrace.reports ORDER BY shipment_id LIMIT 1",
        "ALTER TABLE battrace.reports DELETE WHERE event_id = '{key}'",
        False,
    ),
    "forged-cosignature": (
        "SELECT 'shipment', shipment_id, report_hash FROM battrace.reports ORDER BY shipment_id LIMIT 1",
        "INSERT INTO battrace.report_reviews SELECT shipment_id, 'ev-forged', drafted_at, report_hash, 'cosigned', "
        "'third_party_verifier', 'k', '{{}}', [] FROM battrace.reports WHERE report_hash = '{key}'",
        False,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_tampered_derived_row_fails_verify_naming_its_entity(home: Path, case: str) -> None:
    target, tamper, shown_for_battery = CASES[case]
    found = _sql(home, "select", target)
    assert found, f"the store has no row to tamper with for {case}"
    entity_type, entity_id, key = found[0]
    _sql(home, "command", tamper.format(key=key))
    entity = f"{entity_type}:{entity_id}"
    code, report = _verify(home, "--all")
    assert code == 1 and not report["ok"], report
    assert entity in {f["entity"] for f in report["failures"]}, report["failures"][:5]
    if shown_for_battery:
        code, report = _verify(home, "--battery", entity_id)
        assert code == 1 and report["failures"], report
        assert {f["entity"] for f in report["failures"]} == {entity}, report["failures"][:5]
