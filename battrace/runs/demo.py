"""`battrace demo`: simulated sources -> embedded broker -> Faust worker -> chDB, then verification."""

from __future__ import annotations

import resource
import shutil
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from battrace.compliance.audit import run_audit
from battrace.domain.entities import entities_of, kind_of, split_key
from battrace.keys import KeyRing
from battrace.report.dashboard import write_dashboard
from battrace.report.dashboard_html import Verification
from battrace.runs.cosign_demo import certifications, review_reports, seal_report_steps
from battrace.runs.demo_witness import demo_witness
from battrace.settings import Settings
from battrace.stack.local_broker import local_broker
from battrace.stack.witness_server import WitnessServer
from battrace.stack.worker import (
    WorkerProcess,
    consumed_topics,
    wait_until_caught_up,
    wait_until_checkpointed,
    wait_until_deliveries_reported,
)
from battrace.store import logs as log_store
from battrace.store.client import connect
from battrace.store.footprint import bytes_per_sealed_event
from battrace.store.source_counts import rejected_sources, sealed_sources
from battrace.verify.chains import verify
from battrace.verify.checkpoint_memory import CheckpointMemory
from battrace.verify.witness_quorum import WitnessQuorum
from schemas.codec import CodecError, Decoder
from streams import topics
from streams.kafka import ensure_topics
from streams.producer import EventProducer
from streams.simulator import CLOCK_LEAD_S, SimEvent, simulate


@dataclass
class DemoResult:
    published: int
    sealed: int
    rejected: int
    batteries: int
    lots: int
    shipments: int
    sealed_rows: int
    carbon_lines: int
    verified: bool
    elapsed_s: float
    events_per_s: float
    pipeline_s: float
    peak_rss_mb: float
    reports: int = 0
    delivered: int = 0
    flags_by_code: dict[str, int] = field(default_factory=dict)
    ineligible_lots: int = 0
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    witness: str = ""  # the witness whose cosignature verification required
    cosigned_logs: int = 0  # logs whose newest checkpoint carries its valid cosignature
    logs: int = 0
    verify_failures: list[dict[str, object]] = field(default_factory=list)
    reviews: int = 0  # verdicts the co-signer published (battrace/runs/cosign_demo.py)
    certification: dict[str, object] = field(default_factory=dict)  # certified / refused / reasons
    broker: str = ""  # the broker the run went through: Tansu, Apache Kafka, or an external Kafka
    dashboard: str = ""  # path of the analyst report (battrace/report/dashboard.py), marked if verification failed
    store_bytes_per_sealed_event: float = 0.0  # bytes on disk (active parts after a final merge) / sealed events

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def progress_bars(console: Console) -> Progress:
    """The progress bars of long runs (demo, bench)."""
    return Progress(
        TextColumn("[bold]{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def delivered_consignment(event: SimEvent, decoder: Decoder) -> str | None:
    """The consignment a valid Delivered event delivers (each gets a report), else None.

    The demo counts the reports of the delivered consignments, so it must know which deliveries to wait for: the
    catch-up check can pass while a delivery is still on its way to trace.deliveries.
    """
    if event.expected_reason is not None or event.topic != topics.LOGISTICS.name:
        return None
    try:
        decoded = decoder.decode(event.value)
    except CodecError:
        return None
    if kind_of(decoded.record) != "Delivered":
        return None
    shipments = [split_key(e)[1] for e in entities_of(decoded.schema, decoded.record) if split_key(e)[0] == "shipment"]
    return shipments[0] if shipments else None


def for_simulated_world(settings: Settings) -> Settings:
    """The settings a worker fed by the simulator runs with: the story's clock may lie ahead of the machine's."""
    return settings.model_copy(update={"future_tolerance_s": max(settings.future_tolerance_s, CLOCK_LEAD_S)})


def run_demo(settings: Settings, events: int, seed: int, console: Console, invalid_share: float = 0.02) -> DemoResult:
    started = time.monotonic()
    settings = for_simulated_world(settings)
    if not settings.clickhouse:  # the demo starts from an empty embedded store
        shutil.rmtree(settings.clickhouse_path, ignore_errors=True)
        shutil.rmtree(settings.home / "faust", ignore_errors=True)
        # a deliberate new store: what `verify --all` remembered of the old one's logs no longer applies
        shutil.rmtree(CheckpointMemory.in_home(settings.home).directory, ignore_errors=True)
    KeyRing(settings).signers()  # create the signing key before any worker races to (and the witness pins it)
    witness_home, witness_key = demo_witness(settings)
    witnesses = WitnessQuorum.of([witness_key], 1)
    with ExitStack() as stack:
        witness = stack.enter_context(WitnessServer(witness_home.path, settings.home / "witness.log"))
        if settings.kafka:
            bootstrap, tansu, name = settings.kafka, False, "Kafka"
        else:
            chosen = local_broker(settings, fresh=True)
            if chosen.note:
                console.print(f"[yellow]{chosen.note}[/]")
            broker = stack.enter_context(chosen.broker)
            bootstrap, tansu, name = broker.bootstrap, broker.tansu, chosen.name
        console.print(f"broker {name} [cyan]{bootstrap}[/]  clickhouse [cyan]{settings.clickhouse_shown}[/]")
        ensure_topics(bootstrap, settings.partitions)
        witness.wait_ready()
        console.print(f"witness [cyan]{witness_key.name}[/] at [cyan]{witness.url}[/] (home {witness_home.path})")
        asked = {"witnesses": f"{witness_key.to_key()} {witness.url}", "witness_quorum": 1}
        settings = settings.model_copy(update=asked)
        worker = stack.enter_context(WorkerProcess(settings, bootstrap, settings.home / "worker.log", tansu))
        with progress_bars(console) as progress:
            task = progress.add_task("publish", total=events)
            pipeline_started = time.monotonic()
            decoder, delivered = Decoder(), set()
            with EventProducer(bootstrap) as producer:
                for i, ev in enumerate(simulate(events, seed=seed, invalid_share=invalid_share), start=1):
                    producer.send_raw(ev.topic, ev.key, ev.value, ev.timestamp_ms)
                    consignment = delivered_consignment(ev, decoder)
                    if consignment is not None:
                        delivered.add(consignment)
                    if i % 500 == 0:
                        progress.update(task, completed=i)
                progress.update(task, completed=events)
            published = producer.delivered
            process = progress.add_task("process", total=None)

            def on_progress(done: int, total: int) -> None:
                progress.update(process, completed=done, total=total)

            wait_until_caught_up(bootstrap, consumed_topics(settings), worker, on_progress=on_progress)
            pipeline_s = time.monotonic() - pipeline_started
            progress.add_task("checkpoint", total=None)
            wait_until_checkpointed(bootstrap, settings, worker, witnesses=witnesses)
            progress.add_task("reports", total=None)
            wait_until_deliveries_reported(bootstrap, settings, delivered, worker)
            seal_report_steps(bootstrap, settings, worker)  # the drafts, published on reports.events
        worker.stop()
        reviews = review_reports(settings, bootstrap, console, tansu)
    client = connect(settings)
    try:
        result = _collect(client, settings, published, pipeline_s, console, witnesses)
        result.reviews = len(reviews)
        result.broker = name
        result.certification = certifications(client, settings).to_json()
        failures = tuple(f"{f['entity']}: {f['problem']}" for f in result.verify_failures)
        verification = Verification(result.verified, 0, failures)
        result.dashboard = str(write_dashboard(client, settings.home / "dashboard", verification))
        result.store_bytes_per_sealed_event = bytes_per_sealed_event(client, result.sealed)
    finally:
        client.close()
    result.elapsed_s = round(time.monotonic() - started, 2)
    return result


def _collect(
    client, settings: Settings, published: int, pipeline_s: float, console: Console, witnesses: WitnessQuorum
) -> DemoResult:
    def scalar(sql: str) -> int:
        return int(client.query(sql).result_rows[0][0])

    console.print("verifying every chain, log, checkpoint, signature and witness cosignature ...")
    report = verify(client, KeyRing(settings).verifiers(), witnesses=witnesses)
    newest = log_store.latest_checkpoints(client)
    console.print("auditing licensed custody, lot eligibility, footprints and recycled content ...")
    audit = run_audit(client, settings)
    flags = client.query("SELECT code, count() FROM battrace.flags FINAL GROUP BY code ORDER BY code").result_rows
    reasons = rejected_sources(client)
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return DemoResult(
        published=published,
        sealed=sealed_sources(client),
        rejected=sum(reasons.values()),
        batteries=scalar("SELECT count() FROM battrace.batteries FINAL"),
        lots=scalar("SELECT count() FROM battrace.lots FINAL"),
        shipments=scalar("SELECT count() FROM battrace.shipments FINAL"),
        sealed_rows=scalar("SELECT count() FROM battrace.sealed FINAL"),
        carbon_lines=scalar("SELECT count() FROM battrace.carbon FINAL"),
        verified=report.ok,
        elapsed_s=0.0,
        events_per_s=round(published / pipeline_s, 1) if pipeline_s > 0 else 0.0,
        pipeline_s=round(pipeline_s, 2),
        peak_rss_mb=round(max(children_peak, self_peak), 1),
        reports=scalar("SELECT uniqExact(shipment_id) FROM battrace.reports"),
        delivered=scalar("SELECT uniqExact(shipment_id) FROM battrace.events FINAL WHERE kind = 'Delivered'"),
        flags_by_code={str(k): int(v) for k, v in flags},
        ineligible_lots=audit.ineligible_lots,
        rejects_by_reason={str(k): int(v) for k, v in sorted(reasons.items())},
        witness=", ".join(witnesses.names),
        cosigned_logs=sum(not witnesses.problem(cp.note) for cp in newest.values()),
        logs=len(newest),
        verify_failures=report.failures[:20],
    )
