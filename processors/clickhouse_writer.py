"""The worker's ClickHouse: one writer thread for every insert, and clients of their own for reports and resumes.

The sink is opened (and its tables created) on the writer thread as soon as the worker's entry point asks
(``open_early``): loading chDB and applying the DDL take about two seconds, which then pass while the worker joins
its consumer groups instead of before the first batch after a restart is stored. Without that call it is opened
on first use. Inserts run on the writer thread so that heartbeats keep flowing while ClickHouse works.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cached_property
from typing import Any, TypeVar

from clickhouse_connect.driver.client import Client

from battrace.settings import Settings
from battrace.store import logs as log_store
from battrace.store.client import apply_ddl, connect, embedded_store
from battrace.store.heads import Heads, stored_heads
from battrace.store.logs import LastCheckpoint
from battrace.store.retention import apply_retention
from battrace.store.sink import COLUMNS, Blocks, ChdbInserts, ClickHouseSink, SinkBatch
from battrace.tlog import consistency_proof, consistency_proof_appended, leaf_hash
from processors.failures import EXIT_SINK_DOWN
from processors.metrics import WorkerMetrics

log = logging.getLogger(__name__)
T = TypeVar("T")
# Reports read a lot (genealogy walks, steps): on their own thread and their own client (report_client), so the
# sink's inserts never wait for them. chDB releases the GIL while a query runs.
REPORT_QUERY_THREADS = 1
RESUME_QUERY_THREADS = 1


class ClickHouseWriter:
    def __init__(self, settings: Settings, metrics: WorkerMetrics | None = None) -> None:
        self._settings = settings
        self._metrics = metrics
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")
        self._opening: Future[ClickHouseSink] | None = None
        self._resume_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse-resume")

    def open_early(self) -> Future[ClickHouseSink]:
        """Open the sink on the writer thread now; every job queued on that thread later finds it open."""
        if self._opening is None:
            self._opening = self._thread.submit(self._open)
        return self._opening

    @cached_property
    def sink(self) -> ClickHouseSink:
        """The sink: the one ``open_early`` opened (waiting for it if need be), else opened here."""
        return self._open() if self._opening is None else self._opening.result()

    def _open(self) -> ClickHouseSink:
        client = connect(self._settings)
        apply_ddl(client)
        apply_retention(client, self._settings)
        store = embedded_store(self._settings)
        made = ClickHouseSink(client, inserts=ChdbInserts(store) if store else None)
        for table in COLUMNS:  # read each table's column types now, not on the event loop in the middle of a batch
            made.row_format(table)
        return made

    @cached_property
    def report_client(self) -> Client:
        """Reports read on a client of their own: clickhouse-connect serialises the calls of one chDB client under a
        lock, so on the sink's client every insert waited for the report query in flight (a third of the worker's
        time at 200k events); chDB runs queries of separate connections side by side."""
        self.sink  # noqa: B018 - the tables exist before the first read
        client = connect(self._settings)
        # One thread per report query: a report can wait, the seal stage's inserts (and Python) should not.
        client.set_client_setting("max_threads", REPORT_QUERY_THREADS)
        return client

    def blocks(self, batch: SinkBatch) -> Blocks:
        """The batch's rows encoded, ready for ``write``."""
        return self.sink.blocks(batch)

    async def write(self, batch: SinkBatch | Blocks, attempts: int = 5) -> None:
        """Insert off the event loop (heartbeats keep flowing); returns only after ClickHouse acknowledged.

        faust's take_events acks a batch even when the loop body raises, so a failed insert must never
        propagate: retry, and if ClickHouse stays down, exit hard so no offset of this batch is committed.
        """
        if not len(batch):
            return
        for attempt in range(1, attempts + 1):
            try:
                started = time.monotonic()
                await asyncio.get_running_loop().run_in_executor(self._thread, self.sink.write, batch)
                if self._metrics is not None:
                    self._metrics.clickhouse_insert_seconds.observe(time.monotonic() - started)
                return
            except Exception:
                log.exception("ClickHouse insert failed (attempt %d of %d)", attempt, attempts)
                await asyncio.sleep(min(2**attempt, 10))
        log.critical("ClickHouse unavailable: exiting without committing; the batch will be redelivered")
        os._exit(EXIT_SINK_DOWN)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the writer thread (reads that must see every insert before them)."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    @cached_property
    def resume_client(self) -> Client:
        """Resuming a log (``stored_log``) reads on a client and thread of their own, so a batch's insert never waits
        for it (processors/log_signing.py resumes in the background); one query thread each, so the reads leave the
        cores to the seal stage."""
        self.sink  # noqa: B018 - the tables exist before the first read
        client = connect(self._settings)
        client.set_client_setting("max_threads", RESUME_QUERY_THREADS)
        return client

    async def stored_log(self, log_id: str, size: int) -> tuple[LastCheckpoint | None, list[bytes], Heads]:
        """A log's last stored checkpoint, the leaf hashes stored after it up to ``size`` and its heads (committed as
        of the checkpoint, the entries after it observed), to resume signing. Every entry below ``size`` is stored
        before anyone asks (the log state of that size is written after them), so this reads beside the inserts.

        The heads are the one part that grows with the log: one row per entity it ever sealed (the heads tree has a
        leaf for each, in order of first appearance), grouped from the entries before the checkpoint."""

        def read() -> tuple[LastCheckpoint | None, list[bytes], Heads]:
            client = self.resume_client
            last = log_store.last_checkpoint(client, log_id)
            start = last.size if last else 0
            found = log_store.entries(client, log_id, start, size)
            if [i for i, _, _ in found] != list(range(start, size)):
                raise LookupError(f"{log_id}: the store lacks entries in [{start}, {size})")
            heads = stored_heads(client, log_id, start)
            for _, entry, _ in found:
                heads.observe_entry(entry)
            return (last.last() if last else None), [leaf_hash(e) for _, e, _ in found], heads

        return await asyncio.get_running_loop().run_in_executor(self._resume_thread, read)

    async def stored_proof(self, log_id: str, old_size: int, new_size: int) -> list[bytes]:
        """The consistency proof from ``old_size`` to ``new_size`` of a stored log (what a witness that holds an older
        checkpoint than the worker remembers needs): from the stored checkpoint of ``old_size`` and the leaves after
        it, or from every leaf when no checkpoint of that size is stored."""
        client = self.sink.client

        def read() -> list[bytes]:
            if old_size == 0:
                return []
            held = log_store.last_checkpoint(client, log_id, old_size)
            if held is not None:
                since = log_store.leaf_hashes(client, log_id, old_size, new_size)
                return consistency_proof_appended(list(held.last().compact_range), old_size, since)
            return consistency_proof(log_store.leaf_hashes(client, log_id, 0, new_size), old_size)

        return await self.run(read)
