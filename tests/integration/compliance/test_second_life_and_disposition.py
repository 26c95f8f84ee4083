"""On a real store (Tansu broker, worker, chDB): a repurposed pack shows its link under both codes (trace and
passport), a recycled batch's disposition report names its origin VINs, dismantling dates, transporter licences and
receiving facility, a batch whose pack's collection names no transporter licence is ineligible naming the pack, and
what the report is computed from is held to the seal by `battrace verify --all`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from embedded import embedded_stack, run_sql, verify_all, write_sql

from schemas.catalog import MES_EVENT
from schemas.codec import encode
from streams import topics
from streams.producer import EventProducer

PACK_A, PACK_B, PACK_C = "X12PEPM27KLPCLX2M2382331", "X12PEPM27KLPCLX2M2382332", "X12PEPM27KLPCLX2M2382333"
PACK_R, SECOND = "X12PEPM27KLPCLX2M2382334", "X12PEPM27SL001N1A0000001"
VIN = {
    PACK_A: "LSVAA4182E2184101",
    PACK_B: "LSVAA4182E2184102",
    PACK_C: "LSVAA4182E2184103",
    PACK_R: "LSVAA4182E2184104",
}
LICENCE = "RTL-350900-2024-0082"
DISMANTLER_SITE = "CN-JS-CHANGZHOU-DSM"
HOUR = 3_600_000


def _mes(kind: str, body: dict[str, Any], at_ms: int, site: str = "SITE-1") -> bytes:
    record = {
        "event_id": str(uuid.uuid4()),
        "event_time": at_ms,
        "tz_offset": "+08:00",
        "site_id": site,
        "line_id": "L1",
        "body": (f"battrace.mes.{kind}", body),
    }
    return encode(MES_EVENT, record)


def _pack_life(pack: str, t0: int, licence: str | None) -> list[bytes]:
    commissioned = {
        "battery_id": pack,
        "sgtin": None,
        "chemistry": "NCM",
        "model": "P1",
        "capacity_ah": 150.0,
        "energy_kwh": 60.0,
        "mass_kg": 400.0,
        "certification_number": "CERT-1",
    }
    installed = {"battery_id": pack, "vin": VIN[pack], "vehicle_model": "M", "vehicle_category": "M1"}
    collected = {
        "battery_id": pack,
        "collector_id": "CN-COL-001",
        "reason": "end of life",
        "vin": VIN[pack],
        "transporter_licence": licence,
    }
    dismantled = {
        "battery_id": pack,
        "dismantler_id": "CN-DSM-001",
        "output_lot_id": f"BM-{pack[-1]}",
        "output_mass_kg": 150.0,
        "vin": VIN[pack],
    }
    return [
        _mes("Commissioned", commissioned, t0),
        _mes("VehicleIntegrated", installed, t0 + HOUR),
        _mes("EndOfLifeCollected", collected, t0 + 2 * HOUR, "CN-SH-JIADING-COL"),
        _mes("Dismantled", dismantled, t0 + 3 * HOUR, DISMANTLER_SITE),
    ]


def _recycled(inputs: list[str], output: str, at_ms: int) -> bytes:
    body = {
        "recycler_id": "CN-RCY-001",
        "inputs": [{"lot_id": lot, "mass_kg": 150.0} for lot in inputs],
        "outputs": [{"lot_id": output, "mass_kg": 20.0 * len(inputs)}],
    }
    return _mes("Recycled", body, at_ms, "CN-HB-JINGMEN-RCY")


def _battrace(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "battrace", *args], env=env, capture_output=True, text=True, timeout=300
    )


def _json(result: subprocess.CompletedProcess) -> dict:
    assert result.stdout.strip(), result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_second_life_under_both_codes_and_disposition_reports_of_recycled_batches(tmp_path: Path) -> None:
    t0 = int(time.time() * 1000) - 40 * HOUR
    repurposed = {
        "battery_id": PACK_R,
        "new_battery_id": SECOND,
        "repurposer_id": "CN-MFR-001",
        "application": "stationary energy storage",
        "state_of_health": 0.78,
    }
    with embedded_stack(tmp_path) as stack:
        with EventProducer(stack.bootstrap) as producer:
            for pack, licence in ((PACK_A, LICENCE), (PACK_B, LICENCE), (PACK_C, None)):
                for value in _pack_life(pack, t0, licence):
                    producer.send_raw(topics.MES.name, pack.encode(), value)
            for value in _pack_life(PACK_R, t0, LICENCE)[:2]:
                producer.send_raw(topics.MES.name, PACK_R.encode(), value)
            producer.send_raw(topics.MES.name, PACK_R.encode(), _mes("Repurposed", repurposed, t0 + 5 * HOUR, "ESS"))
            producer.send_raw(topics.MES.name, b"BM-1", _recycled(["BM-1", "BM-2"], "REC-OK", t0 + 10 * HOUR))
            producer.send_raw(topics.MES.name, b"BM-3", _recycled(["BM-3"], "REC-GAP", t0 + 10 * HOUR))
        stack.process()

    # the second life, under both codes
    original = _json(_battrace(tmp_path, "trace", "--battery", PACK_R, "--json"))
    new = _json(_battrace(tmp_path, "trace", "--battery", SECOND, "--json"))
    assert [link["battery_id"] for link in original["second_life"]["repurposed_as"]] == [SECOND]
    assert [link["battery_id"] for link in new["second_life"]["repurposed_from"]] == [PACK_R]
    assert new["second_life"]["repurposed_from"][0]["application"] == "stationary energy storage"
    states = run_sql(
        tmp_path,
        "SELECT battery_id, phase, status, vin FROM battrace.batteries FINAL "
        f"WHERE battery_id IN ('{PACK_R}', '{SECOND}', '{PACK_A}') ORDER BY battery_id",
    )
    assert states == [
        [PACK_A, "recycling", "waste", VIN[PACK_A]],  # the VIN stays after collection and dismantling
        [PACK_R, "second_life", "repurposed", VIN[PACK_R]],
        [SECOND, "second_life", "repurposed", ""],
    ]
    for code, side, other in ((SECOND, "derivedFrom", PACK_R), (PACK_R, "repurposedAs", SECOND)):
        out = tmp_path / f"{code}.json"
        made = _battrace(tmp_path, "passport", "--battery", code, "--out", str(out))
        assert made.returncode == 0, made.stderr[-2000:]
        assert [link["batteryId"] for link in json.loads(out.read_text())["secondLife"][side]] == [other]

    # a batch with every link
    ok = _battrace(tmp_path, "disposition", "REC-OK", "--json")
    report = _json(ok)
    assert ok.returncode == 0 and report["eligible"] and report["reasons"] == []
    assert report["vins"] == [VIN[PACK_A], VIN[PACK_B]]
    assert {p["battery_id"]: (p["transporter_licence"], p["receiving_facility"]) for p in report["packs"]} == {
        PACK_A: (LICENCE, DISMANTLER_SITE),
        PACK_B: (LICENCE, DISMANTLER_SITE),
    }
    assert all(p["dismantled_at_ms"] == t0 + 3 * HOUR for p in report["packs"])
    assert report["facility"] == "CN-HB-JINGMEN-RCY" and report["disposition"].startswith(
        "recovered 40 kg by CN-RCY-001"
    )

    # a batch missing a link
    gap = _battrace(tmp_path, "disposition", "REC-GAP", "--json")
    assert gap.returncode == 1
    assert _json(gap)["reasons"] == [
        f"{PACK_C}: missing_transporter_licence: its collection names no transporter licence"
    ]
    table = _battrace(tmp_path, "disposition", "REC-GAP")
    assert table.returncode == 1 and "INELIGIBLE" in table.stdout and "missing_transporter_licence" in table.stdout

    # a lot that is no recycled batch: one line, exit 2
    unknown = _battrace(tmp_path, "disposition", "BM-1")
    assert unknown.returncode == 2 and unknown.stderr.strip().count("\n") == 0
    assert "no recycled batch 'BM-1'" in unknown.stderr and "Traceback" not in unknown.stderr

    # what the report reads is held to the seal: an edited origin VIN fails verification, naming the pack
    code, verdict = verify_all(tmp_path)
    assert code == 0 and verdict["ok"], verdict["failures"][:5]
    write_sql(
        tmp_path,
        f"ALTER TABLE battrace.event_store UPDATE payload = replaceAll(payload, '{VIN[PACK_A]}', 'LSVAA4182E2189999') "
        f"WHERE kind = 'Dismantled' AND has(battery_ids, '{PACK_A}')",
    )
    code, verdict = verify_all(tmp_path)
    assert code == 1 and any(PACK_A in json.dumps(f) for f in verdict["failures"]), verdict["failures"][:5]
