"""The worker: ingest (validate, dedup) -> seal (chain, correlate, carbon) -> ClickHouse; rejects -> ClickHouse.

Delivery is at-least-once. Each stage is idempotent: ingest remembers where an event id was first
accepted (processors/ingest.py, a plain aiokafka consumer sending one pack per trace.chain partition and
batch); the seal stage (the one Faust agent, processors/seal_stage.py) remembers, per entity, the last source
offset it applied from each source partition, writes ClickHouse first and state second, and only then lets its
offsets be committed; the rejects sink and the report stage (plain consumers, processors/reject_stage.py and
report_stage.py) commit a batch once its rows are stored.

``build_worker`` makes all of it from the settings and starts nothing, and importing this module changes nothing:
the process-wide tuning and faust's patches are the entry point's to apply (processors/__main__.py).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import faust

from battrace.domain.sources import REPORT_EVENT
from battrace.keys import KeyRing
from battrace.log_format import log_level, logging_config
from battrace.settings import Settings
from processors import broker, reject_stage, report_stage, table_codec
from processors.checkpointer import Checkpointer
from processors.clickhouse_writer import ClickHouseWriter
from processors.consumer_lag import LagReader
from processors.cosigning import Cosigning
from processors.failures import EXIT_PROCESSING_FAILED, run_or_exit
from processors.group_consumer import member_id
from processors.ingest_process import IngestProcess
from processors.log_signing import LogSigning
from processors.metrics import LOGS_FOLLOWED, SEAL_ASSIGNED, TABLE_RECOVERED, IngestMetrics, WorkerMetrics
from processors.metrics_server import Readiness
from processors.predecessors import Succession
from processors.reports import ReportIssuer
from processors.runtime.faust_table import FaustStateTable, changelog_writer
from processors.seal_stage import SealStage
from processors.sealing import log_state_key
from schemas.codec import encode
from streams import topics
from streams.kafka_security import faust_credentials
from streams.topics import MAX_MESSAGE_BYTES

log = logging.getLogger(__name__)

# Queued packs per stream, in seal batches. faust stops taking a partition's fetched packs above 80 % of this and
# takes them again below 40 %; with 2 batches (16 packs) the seal stage often found the queue empty while the
# next fetch was under way (100k events: 8.5k/s and 2.7 s waiting for packs; with 4 batches 8.9k/s and 1.6 s).
STREAM_BUFFER_PACKS_PER_BATCH = 4
# How long a start-up's log resumes wait for the first batch to be sealed before they read the logs' history anyway
# (processors/log_signing.py): what a start-up takes to seal its first batch, and about two checkpoint intervals.
RESUME_WAITS_FOR_FIRST_BATCH_S = 2.0
RAW: dict[str, Any] = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
# faust's RocksDB defaults are sized for a server: 3 x 64 MiB memtables and a 2 GiB block cache per partition
# database, so a million entities would hold gigabytes in memory. These keep the store a disk store.
ROCKSDB_OPTIONS = {
    "write_buffer_size": 4 * 1024**2,
    "max_write_buffer_number": 2,
    "block_cache_size": 8 * 1024**2,
    "block_cache_compressed_size": 2 * 1024**2,
}


@dataclass
class Worker:
    """A built worker: ``app.main()`` runs it (faust's command line: ``worker``)."""

    app: faust.App
    entity_state: Any  # the faust Table
    seal_stage: SealStage
    signing: LogSigning
    clickhouse: ClickHouseWriter
    metrics: WorkerMetrics
    readiness: Readiness


def make_app(settings: Settings, tansu: bool) -> faust.App:
    """The faust App of the seal stage; ``tansu``: the broker is the embedded Tansu (processors/broker.py)."""
    timeouts = broker.group_timeouts(settings, tansu)
    return faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka or 'localhost:9092'}",
        broker_credentials=faust_credentials(settings),
        store=settings.table_store,
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        broker_commit_interval=settings.commit_interval_s,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
        table_standby_replicas=0,
        producer_acks=-1,
        # Tansu holds a JoinGroup for half the session timeout (processors/broker.py); keep start-up short.
        broker_rebalance_timeout=timeouts.rebalance_s,
        # A crashed worker must leave the group *during* the next worker's join (session < rebalance timeout):
        # Tansu only drops it when its session expires, and a second rebalance right after start-up makes faust
        # drop in-flight messages (suspend_flow), leaving a hole in its acked offsets that stalls commits.
        broker_session_timeout=timeouts.session_s,
        # A stream's queue holds fetched trace.chain packs (up to 500 events, ~150 kB each) until the seal stage
        # takes them; faust's default of 4,096 messages let a backlog pile up in the worker's memory instead of the
        # broker.
        stream_buffer_maxsize=STREAM_BUFFER_PACKS_PER_BATCH * settings.seal_batch_packs,
        broker_heartbeat_interval=timeouts.heartbeat_s,
        datadir=str(settings.home / "faust"),
        # Up to one largest pack per partition and fetch. At faust's default of 1 MiB (about three packs) the stream
        # ran dry between fetches: 7.3k/s with 1 MiB, 8.9k/s with 4 MiB (100k events, a stream buffer of 32 packs).
        consumer_max_fetch_size=MAX_MESSAGE_BYTES,
        logging_config=logging_config(settings.log_format, log_level()),  # None: faust's own text format
        **broker.faust_options(tansu),
    )


async def run_ingest(
    settings: Settings, metrics: IngestMetrics | None = None, process: IngestProcess | None = None
) -> None:
    """Validate + dedup on a plain aiokafka consumer (processors/ingest.py says why not a Faust agent).

    With ``BATTRACE_INGEST_PROCESS`` (the default) it runs in a child process (processors/ingest_process.py): the
    one ``process`` the entry point started before anything else, or a new one.
    """
    if not settings.ingest_process:
        from processors.ingest import run_stage  # only here: a worker with an ingest child never imports it

        await run_stage(settings, metrics)
        return
    await (process or IngestProcess(settings)).supervise()


def witness_cosigning(
    settings: Settings, clickhouse: ClickHouseWriter, publish: Callable[[str, str], Awaitable[None]]
) -> Cosigning | None:
    """The witnesses of BATTRACE_WITNESSES that have a URL, asked about every new checkpoint; None if there are none.

    Each request waits at most BATTRACE_WITNESS_TIMEOUT_S (a 409 costs a second one), so a round of requests is
    bounded whatever the witnesses do. The HTTP client is imported only when there are witnesses to ask (a
    tenth of a second of a worker's start-up otherwise)."""
    from processors.witnesses import WitnessEndpoint

    endpoints = [WitnessEndpoint(url.rstrip("/"), key) for key, url in KeyRing(settings).witnesses() if url]
    if not endpoints:
        return None
    import httpx

    from processors.witnesses import WitnessClient

    timeout = settings.witness_timeout_s
    client = WitnessClient(endpoints, httpx.AsyncClient(timeout=timeout))
    return Cosigning(client, clickhouse.stored_proof, clickhouse.write, publish, deadline_s=2 * timeout + 1)


def build_worker(settings: Settings, tansu: bool | None = None, ingest_process: IngestProcess | None = None) -> Worker:
    """The faust app with its table, topics, the seal agent, the ingest, report and rejects tasks and the idle-log
    signing timer; nothing starts until ``app.main()``. ``tansu``: see processors/broker.py (decided there if None);
    ``ingest_process``: the ingest child, when the entry point started it already (processors/ingest_process.py).
    """
    table_codec.register()  # the table's values are read and written with it
    app = make_app(settings, broker.embedded_tansu(settings) if tansu is None else tansu)
    chain_topic = app.topic(topics.CHAIN.name, **RAW)
    checkpoints_topic = app.topic(topics.CHECKPOINTS.name, **RAW)
    deliveries_topic = app.topic(topics.DELIVERIES.name, **RAW)
    report_steps_topic = app.topic(topics.REPORTS.name, **RAW)
    # entity key -> entity state (chain head, applied offsets, projection); written by key, not by current event.
    # Also holds each partition's log state (compact tree) under processors.sealing.log_state_key.
    entity_state = app.Table(
        "entities",
        default=None,
        use_partitioner=True,
        key_type=bytes,
        value_type=table_codec.TableValue,  # JSON via msgspec (processors/table_codec.py says why)
        options=ROCKSDB_OPTIONS if settings.table_store.startswith("rocksdb") else None,
    )
    table = FaustStateTable(entity_state)
    lag = LagReader(settings)
    metrics = WorkerMetrics(settings.ingest_metrics_dir if settings.ingest_process else None, lag.read)
    readiness = Readiness(lambda: faust_state(app), lag.read, lambda: metrics.stored_any)
    clickhouse = ClickHouseWriter(settings, metrics)

    async def publish_checkpoint(log_id: str, note: str) -> None:
        await checkpoints_topic.send(key=log_id.encode(), value=note.encode())

    async def send_delivery(delivery: dict[str, Any]) -> None:
        await deliveries_topic.send(key=delivery["entity_id"].encode(), value=json.dumps(delivery).encode())

    checkpointer = Checkpointer(KeyRing(settings).signers(), settings.checkpoint_every, settings.checkpoint_seconds)
    signing = LogSigning(
        checkpointer,
        clickhouse.stored_log,
        clickhouse.write,
        publish_checkpoint,
        cosigning=witness_cosigning(settings, clickhouse, publish_checkpoint),
        on_signed=metrics.checkpoints.signed,
        on_all_followed=lambda: metrics.startup.reached(LOGS_FOLLOWED),
        first_batch_s=RESUME_WAITS_FOR_FIRST_BATCH_S,
        commit_interval_s=settings.commit_interval_s,
    )
    backlog = report_stage.SealBacklog()  # reports yield the cores to a seal backlog
    seal_stage = SealStage(
        settings, table, clickhouse, signing, changelog_writer(app, table), send_delivery, backlog, metrics
    )

    async def publish_report_step(record: dict[str, Any]) -> None:
        sent = await report_steps_topic.send(key=record["shipment_id"].encode(), value=encode(REPORT_EVENT, record))
        await sent  # acknowledged before the delivery that triggered it is committed

    reports = ReportIssuer(settings, clickhouse, signing, backlog, publish_report_step)

    async def seal(stream: faust.StreamT) -> None:
        await seal_stage.run(stream)

    async def ingest() -> None:
        await run_ingest(settings, metrics.ingest, ingest_process)

    async def report() -> None:
        """Reports on a plain consumer (processors/report_stage.py says why)."""
        await run_or_exit(report_stage.run_stage(settings, reports.issue, backlog), "issuing a report")

    async def follow_assigned_logs(recovered: bool = False) -> None:
        """Start resuming (in the background: processors/log_signing.py) every assigned log the checkpointer does not
        follow yet; ``recovered``: the table was just recovered (the app still says it is recovering).

        Started as soon as the table holds the partitions' log states, not when a batch of the partition is stored: a
        partition with nothing left to seal brings no batch, and the tail its crashed worker sealed but did not sign
        would stay unsigned until new events arrive (its reports meanwhile wait for a checkpoint and go out without
        their seal reference)."""
        if not recovered and (app.rebalancing or app.in_recovery):
            return  # the table may not hold the log states yet
        for tp in sorted(app.assignor.assigned_actives()):
            log_id = settings.log_id(tp.partition)
            if tp.topic != topics.CHAIN.name or log_id in checkpointer.logs:
                continue
            state = entity_state.get(log_state_key(tp.partition, settings.partitions))
            if state is None:
                continue  # nothing logged yet
            await signing.follow(log_id, state)

    async def checkpoint_idle_logs() -> None:
        """Sign the tail of a log that stopped growing (no batch will come to trigger it)."""
        try:
            await follow_assigned_logs()
            await signing.publish_due()
        except Exception:
            log.critical("signing a checkpoint failed: exiting", exc_info=True)
            os._exit(EXIT_PROCESSING_FAILED)

    async def on_assigned(sender: Any, assigned: Any = None, **kwargs: Any) -> None:
        """faust's signal: the seal stage's group assigned this worker its partitions (table recovery follows)."""
        metrics.startup.reached(SEAL_ASSIGNED)
        seal_succession.joined(faust_member_id(app))

    async def on_recovered(sender: Any, **kwargs: Any) -> None:
        """faust's signal: the table holds every assigned partition's states now; the logs start resuming here."""
        metrics.startup.reached(TABLE_RECOVERED)
        seal_stage.recovered(tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topics.CHAIN.name)
        try:
            await follow_assigned_logs(recovered=True)
        except Exception:
            log.critical("resuming the assigned logs failed: exiting", exc_info=True)
            os._exit(EXIT_PROCESSING_FAILED)

    async def store_rejects() -> None:
        """Rejects on a plain consumer (processors/reject_stage.py says why); ``write`` exits if ClickHouse stays
        down."""
        await run_or_exit(reject_stage.run_stage(settings, clickhouse.write, metrics), "storing rejects")

    seal_succession = Succession(settings, settings.app_id)  # faust's group id is the app id
    app.task(ingest)
    app.agent(chain_topic, name="processors.worker.seal")(seal)
    app.task(report)
    app.timer(interval=settings.checkpoint_seconds / 2)(checkpoint_idle_logs)
    app.on_partitions_assigned.connect(on_assigned)
    app.on_rebalance_complete.connect(on_recovered)
    app.task(store_rejects)
    return Worker(app, entity_state, seal_stage, signing, clickhouse, metrics, readiness)


def faust_member_id(app: faust.App) -> str:
    """The seal stage's member id in its group: faust's consumer runs an aiokafka consumer in its own thread."""
    consumer = getattr(getattr(app.consumer, "_thread", None), "_consumer", None)
    return member_id(consumer) if consumer is not None else ""


def faust_state(app: faust.App) -> str | None:
    """Why the seal stage cannot work right now (its group rebalances, its table recovers), or None."""
    if app.rebalancing:
        return "the seal stage's consumer group is rebalancing"
    if app.in_recovery:
        return "the seal stage is recovering its table from the changelog"
    return None
