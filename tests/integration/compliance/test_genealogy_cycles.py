"""A cycle that no single event shows: lot A recycled into B, then B into A, by two events. The stream seals both
without a flag (each is valid on its own); `battrace audit` flags both lots on the sealed genealogy, and `verify`
then holds the stored flags to that recomputation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from embedded import embedded_stack, run_sql

from schemas.catalog import MES_EVENT
from schemas.codec import encode
from streams import topics
from streams.producer import EventProducer


def _recycled(source: str, target: str, at_ms: int) -> bytes:
    record = {
        "event_id": str(uuid.uuid4()),
        "event_time": at_ms,
        "tz_offset": "+08:00",
        "site_id": "SITE-HYDRO",
        "line_id": "HYDRO-1",
        "body": (
            "battrace.mes.Recycled",
            {
                "recycler_id": "RECYCLER-1",
                "inputs": [{"lot_id": source, "mass_kg": 100.0}],
                "outputs": [{"lot_id": target, "mass_kg": 90.0}],
            },
        ),
    }
    return encode(MES_EVENT, record)


def _battrace(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "battrace", *args], env=env, capture_output=True, text=True)


def test_a_two_event_cycle_is_flagged_by_the_audit_on_both_lots(tmp_path: Path) -> None:
    now = int(time.time() * 1000)
    with embedded_stack(tmp_path) as stack:
        with EventProducer(stack.bootstrap) as producer:
            producer.send_raw(topics.MES.name, b"LOT-CYC-A", _recycled("LOT-CYC-A", "LOT-CYC-B", now - 60_000))
            producer.send_raw(topics.MES.name, b"LOT-CYC-B", _recycled("LOT-CYC-B", "LOT-CYC-A", now - 30_000))
        stack.process()
    stream_flags = "SELECT count() FROM battrace.flags FINAL WHERE code = 'recycled_into_itself'"
    assert run_sql(tmp_path, stream_flags) == [[0]]  # neither event alone recycles a lot into itself
    audit = _battrace(tmp_path, "audit", "--json")
    assert audit.returncode == 0, audit.stderr[-2000:]
    assert json.loads(audit.stdout.strip().splitlines()[-1])["genealogy_cycles"] == 2
    flagged = run_sql(
        tmp_path, "SELECT entity_id, detail FROM battrace.flags FINAL WHERE code = 'genealogy_cycle' ORDER BY entity_id"
    )
    assert [r[0] for r in flagged] == ["LOT-CYC-A", "LOT-CYC-B"]
    assert all("lot:LOT-CYC-A, lot:LOT-CYC-B" in detail for _, detail in flagged)
    assert _battrace(tmp_path, "verify", "--all").returncode == 0


def test_an_audit_older_than_the_sealed_data_fails_verify_asking_for_a_new_audit(tmp_path: Path) -> None:
    now = int(time.time() * 1000)
    with embedded_stack(tmp_path) as stack:
        with EventProducer(stack.bootstrap) as producer:
            producer.send_raw(topics.MES.name, b"LOT-X", _recycled("LOT-X", "LOT-Y", now - 60_000))
        stack.process()
        assert _battrace(tmp_path, "audit").returncode == 0
        assert _battrace(tmp_path, "verify", "--all").returncode == 0
        with EventProducer(stack.bootstrap) as producer:
            producer.send_raw(topics.MES.name, b"LOT-Y", _recycled("LOT-Y", "LOT-Z", now - 30_000))
        stack.process()
    stale = _battrace(tmp_path, "verify", "--all", "--json")
    report = json.loads(stale.stdout.strip().splitlines()[-1])
    assert stale.returncode == 1 and [f["entity"] for f in report["failures"]] == ["audit"], report["failures"][:5]
    assert "re-run `battrace audit`" in report["failures"][0]["problem"]
    assert _battrace(tmp_path, "audit").returncode == 0
    assert _battrace(tmp_path, "verify", "--all").returncode == 0
