"""Transit rules on a processed store: the real broker and worker flag exactly the planted transit incidents, the
``transit_events`` rows verify, and an edited, deleted or forged transit row fails `battrace verify --all` naming its
consignment.

5,000 events of seed 1 carry one incident of each kind (a detour, a roadside stop, an overlong hub stay, a handover
at a rest area); see streams/simulator/transit_incidents.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from embedded import embedded_stack, run_sql

from battrace.domain.transit import CATEGORY
from schemas.codec import Decoder
from streams.simulator import simulate

EVENTS, SEED = 5_000, 1


def _verify_all(home: Path) -> tuple[int, dict]:
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    cmd = [sys.executable, "-m", "battrace", "verify", "--all", "--json"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    return result.returncode, json.loads(result.stdout.strip().splitlines()[-1])


def _change(home: Path, statement: str) -> None:
    script = (
        "import sys\nfrom battrace.settings import Settings\nfrom battrace.store.client import connect\n"
        "connect(Settings()).command(sys.argv[1], settings={'mutations_sync': 2})\n"
    )
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    result = subprocess.run([sys.executable, "-c", script, statement], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[tuple[str, str, str]]]:
    home = tmp_path_factory.mktemp("transit")
    events = list(simulate(EVENTS, seed=SEED))
    decoder = Decoder()
    planted = {
        (decoder.decode(ev.value).record["consignment_id"], code, ev.event_id)
        for ev in events
        for code in ev.expected_transit
    }
    with embedded_stack(home) as stack:
        stack.publish(events)
        stack.process(reports_of=events)
    return home, planted


@pytest.fixture
def home(processed: tuple[Path, set], tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(processed[0], copy, symlinks=True, ignore=shutil.ignore_patterns("broker"))
    return copy


def test_exactly_the_planted_incidents_are_flagged(processed: tuple[Path, set]) -> None:
    home, planted = processed
    assert {code for _, code, _ in planted} == {
        "route_deviation",
        "unplanned_stop",
        "dwell_exceeded",
        "handover_outside_facility",
    }
    flagged = run_sql(home, f"SELECT entity_id, code, event_id FROM battrace.flags FINAL WHERE category = '{CATEGORY}'")
    assert {tuple(r) for r in flagged} == planted
    rows = run_sql(home, "SELECT shipment_id, code FROM battrace.transit_events FINAL WHERE code != ''")
    assert {tuple(r) for r in rows} == {(c, code) for c, code, _ in planted}
    kinds = dict(run_sql(home, "SELECT kind, count() FROM battrace.transit_events FINAL GROUP BY kind"))
    assert kinds["visit"] > 0 and kinds["handover"] > 0 and kinds["stop"] > 0 and kinds["deviation"] == 1


def test_the_untouched_store_verifies(processed: tuple[Path, set]) -> None:
    code, report = _verify_all(processed[0])
    assert code == 0 and report["ok"], report["failures"][:5]


@pytest.mark.parametrize(
    ("where", "tamper"),
    [
        ("kind = 'visit' AND code = 'dwell_exceeded'", "ALTER TABLE battrace.transit_events UPDATE duration_s = 3600, "
         "code = '' WHERE shipment_id = '{id}' AND kind = 'visit' AND code = 'dwell_exceeded'"),
        ("kind = 'deviation'", "ALTER TABLE battrace.transit_events DELETE WHERE shipment_id = '{id}' "
         "AND kind = 'deviation'"),
        ("kind = 'handover' AND code = ''", "INSERT INTO battrace.transit_events SELECT * REPLACE "
         "('handover_outside_facility' AS code, concat(event_id, '-forged') AS event_id) FROM "
         "(SELECT * FROM battrace.transit_events FINAL WHERE shipment_id = '{id}' AND kind = 'handover' LIMIT 1)"),
    ],
    ids=["dwell-shortened", "deviation-deleted", "handover-forged"],
)  # fmt: skip
def test_a_tampered_transit_row_fails_verify_naming_its_consignment(home: Path, where: str, tamper: str) -> None:
    (shipment,) = run_sql(home, f"SELECT min(shipment_id) FROM battrace.transit_events FINAL WHERE {where}")[0]
    assert shipment
    _change(home, tamper.format(id=shipment))
    code, report = _verify_all(home)
    assert code == 1 and not report["ok"], report
    named = [f for f in report["failures"] if f["entity"] == f"shipment:{shipment}"]
    assert named and all("transit_events" in f["problem"] for f in report["failures"]), report["failures"][:5]
