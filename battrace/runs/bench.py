"""`battrace bench`: how fast the pipeline seals events on the embedded stack, next to the broker's own ceiling.

Every time below is this machine's wall clock (``time.time()``), so local times and the Kafka CreateTimes that
the worker's producer stamps on its sends compare directly. The bench never opens chDB while a worker runs (one
process per store): "sealed in ClickHouse" is read from the pipeline group's committed offsets, which the
worker commits only after ClickHouse acknowledged the insert; the rows themselves are read after it stopped.

Throughput (default)
  N simulator events are produced before any worker runs (not timed). ``raw_consume_per_s``: one aiokafka
  consumer (assigned partitions, no group, no decoding) reads those N messages from the source topics: the
  ceiling of the consume step. Then the worker starts. ``pipeline_s`` runs from its first output (the earliest
  CreateTime on trace.chain / trace.rejects, i.e. first consume + one ingest batch) to the first moment the
  last offset of every source topic, trace.chain and trace.rejects is committed (so every event is sealed or
  rejected in ClickHouse), seen by a poller of the committed offsets (every 100 ms). The report stage runs
  alongside; ``reports_s`` is the same clock until trace.deliveries is committed too (reports wait for inputs).
  ``startup_s`` is worker spawn -> first output (interpreter, group join, table recovery); the first
  ClickHouse connection (chDB load, DDL) happens lazily on the first insert, so it is inside ``pipeline_s``.
  ``events_per_s`` = N / ``pipeline_s``.

Latency (``--rate R``)
  A few warm-up events are processed first (so start-up is not counted), then N events are offered at R/s
  by a paced producer that records the offer time of every valid event id. The poller timestamps each
  trace.chain partition's committed offset whenever it moves. After the worker stopped, the bench reads
  trace.chain back and decodes its packs: an event is sealed when every pack that carries it (one per partition
  of the entities it touches) is committed, and its latency is that moment minus its offer time; ClickHouse
  confirms it was sealed. This is offer -> sealed *and committed*: it includes the seal
  batching window (``batch_seconds``) and up to ``commit_interval_s`` of commit delay, quantised by the poll
  interval. ``ingested_p50_ms`` / ``ingested_p99_ms``: offer -> the CreateTime of the event's last pack on
  trace.chain, the ingest stage's share (consume, validate, dedup, send); the rest is the seal stage's.
  ``events_per_s`` is then N / (first offer -> last commit): the rate the pipeline kept up with.
  ``raw_consume_per_s`` is measured after the worker stopped, on the same source messages.

Recovery (``--restart``, throughput runs with one worker)
  Once the load is sealed (the catch-up above), the bench SIGKILLs the worker's process group (``WorkerProcess.kill``,
  as a crash: no commit, no flush), reads where the killed worker's stores left off on disk, publishes
  ``RESTART_EVENTS`` ``EnergyUsed`` events about batteries the load commissioned (battrace/runs/recovery.py
  ``follow_ups``: each extends a sealed chain) as it starts a new worker on the same home, broker and store.
  ``recovery_s`` runs from the kill to the first moment, seen by the same poller of committed offsets, at which the
  new batch is sealed: every source partition committed as far as the batch reached, then every trace.chain
  partition committed as far as it ended once ingest had taken the batch (the ``sealed_at`` rule below), so the
  seal stage's commit covers the batch's packs and ClickHouse holds them. It includes the new worker's start-up,
  its joining the consumer groups (on Tansu the killed member holds its partitions until its session expires),
  both tables' recovery, and ingesting and sealing the batch; the batch is published while the new worker starts.
  What the bench reads to count the replay (the two stores, opened read-only, and the topics' offsets) it reads
  just before the kill, while the caught-up worker idles: ``recovery_phases.spawned`` is only the kill and the
  spawn.
  ``recovery_replayed``: the changelog records the new worker reads back to recover its tables, counted from the
  broker and the stores at the kill
  (battrace/runs/recovery.py says how), split per table in ``recovery_replayed_by`` (``entities``: the seal
  stage's faust table; ``event_ids``: ingest's dedup index). ``memory://`` replays every record; ``rocksdb://``
  only what was written after the offsets the stores persisted. ``published`` includes the batch
  (``recovery_events``); ``events``, ``pipeline_s`` and the rates are the load's alone.
  ``recovery_phases``: where ``recovery_s`` goes, as seconds after the kill at which the new worker first reached
  each step: ``spawned`` (its process started), ``entered`` (interpreter up), ``built`` (modules imported, app
  built), ``seal_assigned`` (the seal stage's group joined), ``table_recovered``, ``ingested`` (the first
  trace.chain pack of the batch sent), ``first_batch_stored``, ``sealed`` (= ``recovery_s``) and ``logs_followed``
  (every log resumed by the checkpointer, in the background: it may come after ``sealed``). The steps are read from
  the new worker's metrics port, which the bench turns on for it (battrace/runs/recovery_phases.py).

``peak_rss_mb`` is the largest VmHWM (/proc/<pid>/status) of the workers, each summed with its child processes
(the ingest stage runs in one), read just before they stop;
``bench_rss_mb`` is this process's own peak (it opens chDB to collect the results). ``worker_cpu_s`` is the
workers' CPU time, children included (/proc/<pid>/stat), within ``pipeline_s``; ``worker_cpu_per_s`` is how
many cores they kept busy on average (this machine has 2, shared with the broker). ``cpu_us_per_event`` splits
the CPU time within ``pipeline_s`` of the workers and the broker into components (battrace/runs/cpu_budget.py says
which), per measured event; ``cores_busy`` is all of it over ``pipeline_s``.
"""

from __future__ import annotations

import contextlib
import resource
import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import Progress

from battrace.keys import KeyRing
from battrace.runs import cpu_budget
from battrace.runs.bench_error import BenchError
from battrace.runs.commit_clock import POLL_S, TP, CommitClock, done_at, first_commit
from battrace.runs.demo import for_simulated_world, progress_bars
from battrace.runs.latency import latencies_ms, offer_paced, percentile
from battrace.runs.profiler import Profiler
from battrace.runs.recovery import changelog_topics, earliest_offsets, follow_ups, replayed, store_starts
from battrace.runs.recovery_phases import (
    INGESTED,
    SEALED,
    SPAWNED,
    ends_at,
    first_sent_since,
    recovery_phases,
    startup_steps,
)
from battrace.runs.topic_reads import PackAt, chain_positions, first_output_time, raw_consume
from battrace.settings import Settings
from battrace.stack.apache_kafka import ApacheKafkaBroker
from battrace.stack.broker import EmbeddedBroker, free_port
from battrace.stack.local_broker import local_broker
from battrace.stack.worker import WorkerProcess, committed_by_groups, consumed_topics, wait_until_caught_up
from battrace.store.client import connect
from battrace.store.source_counts import rejected_sources, sealed_sources
from processors.metrics import LOGS_FOLLOWED
from streams import topics
from streams.kafka import end_offsets, ensure_topics
from streams.producer import EventProducer
from streams.simulator import SimEvent, commissioning, simulate

WARMUP_EVENTS = 100  # processed before a paced run, so its latencies exclude worker start-up
RESTART_EVENTS = 200  # published after the kill (--restart): the work that shows the new worker is back
SOURCE_TOPICS = [t.name for t in topics.SOURCES]
OUTPUT_TOPICS = [topics.CHAIN.name, topics.REJECTS.name]  # the worker's first sends land here
PUBLISHED_TOPICS = {t.name for t in topics.SOURCES if t is not topics.REPORTS}  # what the bench publishes to


@dataclass
class BenchResult:
    events: int
    batteries: int | None  # --batteries: the run was that many Commissioned events, one battery each
    events_per_s: float
    raw_consume_per_s: float
    ratio: float
    p50_ms: float | None
    p99_ms: float | None
    ingested_p50_ms: float | None  # offer -> the ingest stage sent the event's last pack (the rest is sealing)
    ingested_p99_ms: float | None
    peak_rss_mb: float
    workers: int
    pipeline_s: float
    reports_s: float  # start -> the last delivery's report stored (reports trail sealing: they wait for inputs)
    startup_s: float
    table_store: str
    broker: str  # Tansu or Apache Kafka (BATTRACE_BROKER / --broker)
    mode: str
    rate: float | None
    published: int
    sealed: int
    rejected: int
    warmup_events: int
    latency_events: int
    bench_rss_mb: float
    worker_cpu_s: float
    worker_cpu_per_s: float
    cpu_us_per_event: dict[str, float]  # component -> CPU µs per measured event within pipeline_s (cpu_budget)
    cores_busy: float  # every component's CPU within pipeline_s / pipeline_s (this machine has 2 cores)
    clock: str
    # --restart (else None): kill -> the new batch sealed; changelog records replayed in all and per table; batch size
    recovery_s: float | None = None
    recovery_replayed: int | None = None
    recovery_replayed_by: dict[str, int] | None = None
    recovery_events: int | None = None
    recovery_phases: dict[str, float] | None = None  # phase -> seconds after the kill (recovery_phases.py)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def bench_settings(settings: Settings) -> Settings:
    """The bench's own home under BATTRACE_HOME, so a bench run never wipes what `battrace demo` left; a simulated
    world's clock (battrace/runs/demo.py)."""
    return for_simulated_world(settings.model_copy(update={"home": settings.home / "bench"}))


def check_workers(settings: Settings, workers: int) -> None:
    """K workers need a store K processes can share; say why not otherwise."""
    if workers <= 1:
        return
    if not settings.clickhouse:
        raise BenchError(
            f"--workers {workers}: the embedded chDB store can be opened by one process at a time; "
            "set BATTRACE_CLICKHOUSE to a ClickHouse server (http://host:8123) to run several workers"
        )
    if not settings.table_store.startswith("memory"):
        raise BenchError(
            f"--workers {workers} with {settings.table_store}: every worker would open tables under the same "
            f"{settings.home / 'faust'}; run several workers with BATTRACE_TABLE_STORE=memory://"
        )


def produce(bootstrap: str, events: list[SimEvent], progress: Progress, label: str) -> int:
    """Send as fast as the producer goes; returns the delivered count."""
    task = progress.add_task(label, total=len(events))
    with EventProducer(bootstrap) as producer:
        for i, ev in enumerate(events, start=1):
            producer.send_raw(ev.topic, ev.key, ev.value, ev.timestamp_ms)
            if i % 500 == 0:
                progress.update(task, completed=i)
    progress.update(task, completed=len(events))
    return producer.delivered


def peak_rss_mb(pid: int) -> float:
    """Sum of VmHWM over a live process and its descendants (Linux): their peaks, as if they coincided."""
    total = 0.0
    for p in [pid, *cpu_budget.children(pid)]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
    return total


def _wipe(settings: Settings) -> None:
    if not settings.clickhouse:
        shutil.rmtree(settings.clickhouse_path, ignore_errors=True)
    shutil.rmtree(settings.home / "faust", ignore_errors=True)


def _require_empty_server(settings: Settings) -> None:
    """A ClickHouse server keeps earlier runs; the same seed has the same event ids, so counts would mix."""
    if not settings.clickhouse:
        return
    client = connect(settings)
    try:
        exists = client.command("EXISTS TABLE battrace.sealed")
        rows = int(client.command("SELECT count() FROM battrace.sealed")) if int(exists) else 0
    finally:
        client.close()
    if rows:
        raise BenchError(f"the bench needs an empty battrace database; {settings.clickhouse} holds {rows} sealed rows")


@dataclass
class _Collected:
    sealed: int
    rejected: int
    sealed_ids: set[str]


def _collect(settings: Settings, with_rows: bool) -> _Collected:
    client = connect(settings)
    try:
        sealed = sealed_sources(client)
        rejected = sum(rejected_sources(client).values())
        ids = client.query("SELECT DISTINCT event_id FROM battrace.sealed").result_rows if with_rows else []
    finally:
        client.close()
    return _Collected(sealed, rejected, {r[0] for r in ids})


def _workers(stack: ExitStack, settings: Settings, bootstrap: str, count: int, tansu: bool) -> list[WorkerProcess]:
    return [
        stack.enter_context(WorkerProcess(settings, bootstrap, settings.home / f"worker-{i}.log", tansu))
        for i in range(count)
    ]


def _caught_up(
    bootstrap: str, settings: Settings, workers: list[WorkerProcess], progress: Progress, tansu: bool
) -> dict[TP, int]:
    task = progress.add_task("process", total=None)
    groups = consumed_topics(settings)
    for w in workers:
        wait_until_caught_up(
            bootstrap,
            groups,
            w,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            tansu=tansu,
        )
    return {tp: max(off, 0) for tp, off in committed_by_groups(bootstrap, groups).items()}


@dataclass
class _Run:
    published: int
    pipeline_s: float
    startup_s: float
    raw: tuple[int, float]
    peak_rss_mb: float
    offered: dict[str, float]
    clock: CommitClock
    measured: int
    cpu: dict[str, float]  # CPU seconds per component within the pipeline window
    reports_s: float
    positions: dict[str, dict[int, PackAt]]
    recovered: _Recovered | None


@dataclass
class _Recovered:
    published: int
    recovery_s: float
    replayed: dict[str, int]
    phases: dict[str, float]


def _crash_and_restart(
    settings: Settings,
    broker: EmbeddedBroker | ApacheKafkaBroker,
    sim: list[SimEvent],
    crashed: WorkerProcess,
    stack: ExitStack,
    clock: CommitClock,
    progress: Progress,
) -> _Recovered:
    """SIGKILL the caught-up worker, publish a batch about sealed batteries, and time a new worker until that batch
    is sealed (the module docstring defines ``recovery_s`` and ``recovery_replayed``)."""
    # Read while the caught-up worker idles (it writes no table, changelog or pack until new events come), so the
    # bench's own reading is not timed as its successor's recovery.
    starts = store_starts(settings)
    earliest = earliest_offsets(broker.bootstrap, changelog_topics(settings))  # an error if a changelog is missing
    ends = end_offsets(broker.bootstrap, changelog_topics(settings))  # faust reads up to these high watermarks
    chain_ends = ends_at(broker.bootstrap, topics.CHAIN.name)  # the batch's packs come after these
    crashed.kill()
    killed = time.time()
    log = settings.home / "worker-restarted.log"
    watched = settings.model_copy(update={"metrics_port": free_port()})  # its start-up steps (recovery_phases.py)
    spawned = time.time()
    restarted = stack.enter_context(WorkerProcess(watched, broker.bootstrap, log, broker.tansu))
    # Published while the new worker starts, as a source goes on publishing while a crashed worker is restarted;
    # the worker takes seconds to import and join, publishing the batch a fraction of one.
    published = produce(broker.bootstrap, follow_ups(sim, RESTART_EVENTS), progress, "after the kill")
    final = _caught_up(broker.bootstrap, settings, [restarted], progress, broker.tansu)
    back = sealed_at(clock, final)
    moments: dict[str, float | None] = {**_startup_steps(watched), SPAWNED: spawned, SEALED: back}
    moments[INGESTED] = first_sent_since(broker.bootstrap, topics.CHAIN.name, chain_ends, killed)
    phases = recovery_phases(killed, moments)
    return _Recovered(published, back - killed, replayed(settings, ends, earliest, starts), phases)


def _startup_steps(settings: Settings, wait_s: float = 5.0) -> dict[str, float]:
    """The restarted worker's start-up steps from its metrics port; its checkpointer may still be resuming logs
    in the background when the batch is sealed, so ``logs_followed`` is waited for a moment."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            steps = startup_steps(settings.metrics_host, settings.metrics_port)
        except httpx.HTTPError as exc:
            raise BenchError(f"the restarted worker's metrics port did not answer: {exc}") from None
        if LOGS_FOLLOWED in steps or time.monotonic() > deadline:
            return steps
        time.sleep(0.2)


def sealed_at(clock: CommitClock, final: dict[TP, int]) -> float:
    """When every published event was sealed or rejected: the published sources committed, then trace.chain and
    trace.rejects committed up to where they ended once ingest had taken the last published message.

    Reports are a downstream consumer, timed apart: their drafts go out on reports.events and come back as packs on
    trace.chain, so the topics' final offsets include them, and a report waits for its inputs and is paced while the
    seal stage works."""
    published = {tp: off for tp, off in final.items() if tp[0] in PUBLISHED_TOPICS}
    ingested = done_at(clock, published)
    outputs = {tp: clock.end_at(tp, ingested) for tp in clock.ends}
    return max(ingested, done_at(clock, outputs)) if any(v > 0 for v in outputs.values()) else ingested


def _run(
    settings: Settings,
    broker: EmbeddedBroker | ApacheKafkaBroker,
    sim: list[SimEvent],
    rate: float | None,
    workers: int,
    profile: Path | None,
    progress: Progress,
    restart: bool = False,
) -> _Run:
    bootstrap = broker.bootstrap
    warmup, measured = (sim[:WARMUP_EVENTS], sim[WARMUP_EVENTS:]) if rate else ([], sim)
    published = produce(bootstrap, warmup if rate else measured, progress, "warm-up" if rate else "produce")
    raw = (0, 0.0) if rate else raw_consume(bootstrap, SOURCE_TOPICS, published, progress)
    parts = range(settings.partitions)
    groups = {g: [(t, p) for t in names for p in parts] for g, names in consumed_topics(settings).items()}
    offered: dict[str, float] = {}
    outputs = [(t, p) for t in OUTPUT_TOPICS for p in parts]
    with CommitClock(bootstrap, groups, ends_of=outputs) as clock, ExitStack() as stack:
        spawned = time.time()
        procs = _workers(stack, settings, bootstrap, workers, broker.tansu)
        pids = [p.proc.pid for p in procs if p.proc]
        clock.workers = [cpu_budget.WorkerCpu(pid) for pid in pids]
        clock.broker_pid = broker.proc.pid if broker.proc else None
        if rate:
            _caught_up(bootstrap, settings, procs, progress, broker.tansu)
            profiler = Profiler(pids[0], profile) if profile else None
            first_offer = time.time()
            delivered, offered = offer_paced(bootstrap, measured, rate, progress)
            published += delivered
        else:
            profiler = Profiler(pids[0], profile) if profile and first_commit(clock, procs) else None
        final = _caught_up(bootstrap, settings, procs, progress, broker.tansu)
        if profiler:
            profiler.stop()
        peak = max(peak_rss_mb(p.proc.pid) for p in procs if p.proc)
        recovered = _crash_and_restart(settings, broker, sim, procs[0], stack, clock, progress) if restart else None
        for p in procs:
            p.stop()
    first_output = first_output_time(bootstrap, OUTPUT_TOPICS)
    if first_output is None:
        raise BenchError("the worker produced nothing on trace.chain or trace.rejects")
    start = first_offer if rate else first_output
    done = sealed_at(clock, final)
    reports_done = done_at(clock, final)
    if rate:
        raw = raw_consume(bootstrap, SOURCE_TOPICS, published, progress)
    return _Run(
        positions=chain_positions(bootstrap) if rate else {},
        published=published,
        pipeline_s=done - start,
        reports_s=reports_done - start,
        startup_s=first_output - spawned,
        raw=raw,
        peak_rss_mb=peak,
        offered=offered,
        clock=clock,
        measured=len(measured),
        cpu=clock.cpu_between(start, done),
        recovered=recovered,
    )


def run_bench(
    settings: Settings,
    events: int,
    seed: int,
    console: Console,
    rate: float | None = None,
    workers: int = 1,
    profile: Path | None = None,
    batteries: int | None = None,
    restart: bool = False,
) -> BenchResult:
    """One measured run on a fresh embedded broker; ClickHouse is read only after the workers stopped.

    ``batteries``: measure that many distinct batteries entering state (``commissioning``) instead of
    ``events`` events of the full story, which carries only about one battery per four events.
    ``restart``: then crash the worker and time a new one's recovery (module docstring, "Recovery").
    """
    check_workers(settings, workers)
    if restart and (rate or workers > 1):
        raise BenchError("--restart measures one worker's recovery after a throughput run: drop --rate and --workers")
    if profile:
        Profiler.executable()
    _require_empty_server(settings)
    _wipe(settings)
    count = (events if batteries is None else batteries) + (WARMUP_EVENTS if rate else 0)
    sim = list(simulate(count, seed=seed) if batteries is None else commissioning(count, seed=seed))
    chosen = local_broker(settings, fresh=True)
    if chosen.note:
        console.print(f"[yellow]{chosen.note}[/]")
    with chosen.broker as broker, progress_bars(console) as progress:
        console.print(f"broker {chosen.name} [cyan]{broker.bootstrap}[/]")
        console.print(f"clickhouse [cyan]{settings.clickhouse_shown}[/]")
        ensure_topics(broker.bootstrap, settings.partitions)
        KeyRing(settings).signers()  # create the signing key before workers race to
        run = _run(
            settings.model_copy(update={"kafka": broker.bootstrap}),
            broker,
            sim,
            rate,
            workers,
            profile,
            progress,
            restart,
        )
    collected = _collect(settings, with_rows=bool(rate))
    recovered = run.recovered
    published = run.published + (recovered.published if recovered else 0)
    if published != collected.sealed + collected.rejected:
        raise BenchError(
            f"published {published} != sealed {collected.sealed} + rejected {collected.rejected}: "
            f"the pipeline lost or duplicated events (see {settings.home}/worker-*.log)"
        )
    lat, ingested = latencies_ms(collected.sealed_ids, run.positions, run.offered, run.clock) if rate else ([], [])
    raw_count, raw_s = run.raw
    if raw_count < run.published:
        raise BenchError(f"the raw consumer read {raw_count} of {run.published} source messages")
    events_per_s = run.measured / run.pipeline_s
    worker_cpu_s = sum(seconds for component, seconds in run.cpu.items() if component != "broker")
    raw_per_s = raw_count / raw_s
    return BenchResult(
        events=run.measured,
        batteries=batteries,
        events_per_s=round(events_per_s, 1),
        raw_consume_per_s=round(raw_per_s, 1),
        ratio=round(events_per_s / raw_per_s, 5),
        p50_ms=round(percentile(lat, 50), 1) if lat else None,
        p99_ms=round(percentile(lat, 99), 1) if lat else None,
        ingested_p50_ms=round(percentile(ingested, 50), 1) if ingested else None,
        ingested_p99_ms=round(percentile(ingested, 99), 1) if ingested else None,
        peak_rss_mb=round(run.peak_rss_mb, 1),
        workers=workers,
        pipeline_s=round(run.pipeline_s, 3),
        reports_s=round(run.reports_s, 3),
        startup_s=round(run.startup_s, 3),
        table_store=settings.table_store,
        broker=chosen.name,
        mode="latency" if rate else "throughput",
        rate=rate,
        published=published,
        sealed=collected.sealed,
        rejected=collected.rejected,
        warmup_events=WARMUP_EVENTS if rate else 0,
        latency_events=len(lat),
        bench_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        worker_cpu_s=round(worker_cpu_s, 2),
        worker_cpu_per_s=round(worker_cpu_s / run.pipeline_s, 3),
        cpu_us_per_event={c: round(seconds / run.measured * 1e6, 1) for c, seconds in run.cpu.items()},
        cores_busy=round(sum(run.cpu.values()) / run.pipeline_s, 3),
        clock=(
            "wall clock; pipeline = first paced offer -> last offset committed (after the ClickHouse insert), "
            f"polled every {POLL_S * 1000:.0f} ms; latency = offer -> trace.chain offset committed"
            if rate
            else "wall clock; pipeline = worker's first output (CreateTime on trace.chain/rejects) -> last offset "
            f"committed (after the ClickHouse insert), polled every {POLL_S * 1000:.0f} ms; "
            "startup = spawn -> first output"
            + ("; recovery = SIGKILL -> the batch published after it sealed and committed" if recovered else "")
        ),
        recovery_s=round(recovered.recovery_s, 3) if recovered else None,
        recovery_replayed=sum(recovered.replayed.values()) if recovered else None,
        recovery_replayed_by=recovered.replayed if recovered else None,
        recovery_events=recovered.published if recovered else None,
        recovery_phases=recovered.phases if recovered else None,
    )


def iter_rows(result: BenchResult) -> Iterator[tuple[str, str]]:
    """Label and value per result field, for a table; a breakdown gives a row per part (``cpu_us_per_event.seal``)."""
    for key, value in result.to_json().items():
        if isinstance(value, dict):
            yield from ((f"{key}.{part}", str(v)) for part, v in value.items())
        else:
            yield key, "-" if value is None else str(value)
