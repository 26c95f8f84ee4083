"""Run `battrace serve` as a child process against a finished pipeline's store (chDB admits one process per
store, and a process that opened it keeps it: the test process itself must never open it)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from battrace.stack.process import stop_group


@dataclass
class ServedApi:
    base_url: str
    http: httpx.Client
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served_api(home: Path, timeout_s: float = 60) -> Iterator[ServedApi]:
    """`python -m battrace.cli.serve` on a free port, stopped (process group) at exit."""
    port = free_port()
    log = home / "api.log"
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    cmd = [sys.executable, "-m", "battrace.cli.serve", "--host", "127.0.0.1", "--port", str(port)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            _wait_until_answering(http, proc, log, timeout_s)
            yield ServedApi(base_url, http, log)
    finally:
        stop_group(proc, timeout_s=15)


def _wait_until_answering(http: httpx.Client, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if http.get("/openapi.json").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the API server did not answer within {timeout_s}s: {log.read_text()[-2000:]}")


WRITES = {
    "insert": "INSERT INTO battrace.sealed_store SELECT * FROM battrace.sealed_store LIMIT 1",
    "alter_delete": "ALTER TABLE battrace.sealed_store DELETE WHERE 1",
    "truncate": "TRUNCATE TABLE battrace.event_store",
    "drop": "DROP TABLE battrace.rejects",
    "create": "CREATE TABLE battrace.api_probe (x UInt8) ENGINE = Memory",
    "lift_readonly": "SET readonly = 0",
}
PROBE = """
import json, sys
from battrace.api.store import open_readonly
from battrace.settings import Settings

client = open_readonly(Settings())
out = {}
for name, statement in json.loads(sys.argv[1]).items():
    try:
        client.command(statement)
        out[name] = "accepted"
    except Exception as exc:
        out[name] = str(exc)
try:
    client.insert("battrace.flags", [["battery", "x", "probe", "probe", "", "", 0, 0]],
                  column_names=["entity_type", "entity_id", "category", "code", "detail", "event_id", "seq",
                                "event_time"])
    out["client_insert"] = "accepted"
except Exception as exc:
    out["client_insert"] = str(exc)
out["sealed_rows"] = client.query("SELECT count() FROM battrace.sealed").result_rows[0][0]
print(json.dumps(out))
"""


def readonly_probe(home: Path) -> dict[str, object]:
    """Try writes through the API's own client (battrace.api.store.open_readonly) in a child process."""
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(WRITES)], env=env, capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise RuntimeError(f"read-only probe failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])
