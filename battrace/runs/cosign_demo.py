"""The demo's second party: a co-signer with a home of its own reviews the drafted reports.

The demo's home is the operator's; ``<home>/cosigner`` is the co-signer's, with its own report key. Each side pins
the other's keys (the operator's log and QA keys in the co-signer's home, the co-signer's key in the operator's),
the operator's read-only API is served from a child process (chDB admits one process per store, and a process that
opened it keeps it), the co-signer reviews every awaiting draft once and publishes its verdicts to the broker, and a
worker seals them. Refusals are expected: the simulator's custody faults (an unlisted or expired transporter) are
what the co-signer is there to catch.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from clickhouse_connect.driver.client import Client
from rich.console import Console

from battrace.keys import KeyRing
from battrace.report.reviews import Review, certify
from battrace.report.signing import MANUFACTURER_QA, THIRD_PARTY_VERIFIER, load_signed
from battrace.settings import Settings
from battrace.stack.cosigner import Cosigner, OperatorApi, Outcome
from battrace.stack.process import spawn, stop_group
from battrace.stack.worker import (
    WorkerError,
    WorkerProcess,
    consumed_topics,
    wait_until_caught_up,
    wait_until_checkpointed,
)
from battrace.store import reports as report_store
from battrace.verify.cosign_check import PinnedKeys
from schemas.catalog import REPORT_EVENT
from streams.producer import EventProducer
from streams.topics import REPORTS

COSIGNER_HOME = "cosigner"
# words of battrace.domain.custody's flag details -> the flag, to count refusals by kind
CUSTODY_FLAG_WORDS = {
    "is not on the registry": "unlisted",
    "registry has": "licence_mismatch",
    "revoked": "revoked",
    "expired": "expired",
    "valid from": "not_yet_valid",
    "is licensed as": "wrong_role",
}


@dataclass
class Certifications:
    """What the operator's pinned keys make of the current reports once the co-signer has reviewed them."""

    certified: int = 0
    refused: int = 0
    unreviewed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # refusal reason -> reports refused for it

    def to_json(self) -> dict[str, Any]:
        return {
            "certified": self.certified,
            "refused": self.refused,
            "unreviewed": self.unreviewed,
            "reasons": self.reasons,
        }


def seal_report_steps(bootstrap: str, settings: Settings, worker: WorkerProcess) -> None:
    """Wait until the drafts (or reviews) just published are sealed and under a signed checkpoint."""
    wait_until_caught_up(bootstrap, consumed_topics(settings), worker)
    wait_until_checkpointed(bootstrap, settings, worker)


def cosigner_settings(settings: Settings, bootstrap: str) -> Settings:
    """The co-signer's own settings: its home under the operator's, the operator's broker and pinned log keys."""
    log_keys = ",".join(v.to_key() for v in KeyRing(settings).verifiers())
    return Settings(home=settings.home / COSIGNER_HOME, kafka=bootstrap, verifier_keys=log_keys)


def pin_each_other(operator: Settings, cosigner: Settings) -> PinnedKeys:
    """The QA key into the co-signer's home, the co-signer's key into the operator's; the co-signer's pinned keys."""
    qa = KeyRing(operator).report_signer(MANUFACTURER_QA).verifier()
    KeyRing(cosigner).pin_report_key(MANUFACTURER_QA, qa)
    own = KeyRing(cosigner).report_signer(THIRD_PARTY_VERIFIER)
    KeyRing(operator).pin_report_key(THIRD_PARTY_VERIFIER, own.verifier())
    return PinnedKeys(
        tuple(KeyRing(cosigner).configured_verifiers()), tuple(KeyRing(cosigner).report_verifiers()[MANUFACTURER_QA])
    )


def review_reports(settings: Settings, bootstrap: str, console: Console, tansu: bool | None = None) -> list[Outcome]:
    """Serve the operator's API, let the co-signer review every awaiting draft once, then seal its verdicts;
    ``tansu``: see WorkerProcess."""
    cosigner = cosigner_settings(settings, bootstrap)
    keys = pin_each_other(settings, cosigner)
    signer = KeyRing(cosigner).report_signer(THIRD_PARTY_VERIFIER)
    with served_api(settings) as base_url, EventProducer(bootstrap) as producer:
        api = OperatorApi(base_url)

        def publish(step: dict[str, Any]) -> None:
            producer.send(REPORTS.name, REPORT_EVENT, step, key=step["shipment_id"])

        try:
            outcomes = list(Cosigner(api, keys, signer, publish).review_awaiting())
        finally:
            api.close()
    for outcome in outcomes:
        console.print(f"co-signer: {outcome.line()}")
    with WorkerProcess(settings, bootstrap, settings.home / "worker.log", tansu) as worker:
        seal_report_steps(bootstrap, settings, worker)
        worker.stop()
    return outcomes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served_api(settings: Settings, timeout_s: float = 60) -> Iterator[str]:
    """`battrace serve` on a free port in a child process; its URL while it runs."""
    port = free_port()
    log = settings.home / "api.log"
    env = {**os.environ, "BATTRACE_HOME": str(settings.home.resolve())}
    if settings.clickhouse:
        env["BATTRACE_CLICKHOUSE"] = settings.clickhouse
    cmd = [sys.executable, "-m", "battrace", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with open(log, "wb") as out:
        proc = spawn(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_answering(url, proc, log, timeout_s)
        yield url
    finally:
        stop_group(proc, timeout_s=15)


def _wait_until_answering(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise WorkerError(f"the API server exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(f"{url}/openapi.json", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise WorkerError(f"the API server did not answer within {timeout_s:.0f} s; see {log}")


def certifications(client: Client, settings: Settings) -> Certifications:
    """Each current report judged with the operator's pinned role keys (as GET /reports/{id} judges it)."""
    keys = KeyRing(settings).report_verifiers()
    result, reasons = Certifications(), Counter()
    for shipment_id in report_store.reported(client, limit=1_000_000):
        stored = report_store.current_report(client, shipment_id)
        if stored is None:
            continue
        reviews = [Review.from_row(r) for r in stored.reviews]
        verdict = certify(load_signed(stored.document), reviews, keys)
        refusals = [r for r in verdict.refusals if r["verified"]]
        if verdict.certified:
            result.certified += 1
        elif refusals:
            result.refused += 1
            reasons.update(reason_kind(reason) for r in refusals for reason in r["reasons"])
        else:
            result.unreviewed += 1
    result.reasons = dict(reasons.most_common())
    return result


def reason_kind(reason: str) -> str:
    """A refusal reason without the party's name and times: what the demo counts."""
    head, _, detail = reason.partition(": ")
    if head == "custody":
        role = detail.split(" ", 1)[0]
        for words, flag in CUSTODY_FLAG_WORDS.items():
            if words in detail:
                return f"custody: {flag} {role}"
    return head
