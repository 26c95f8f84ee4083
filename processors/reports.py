"""Signed traceability reports, issued by the worker when a consignment is delivered.

Report work (ClickHouse reads, drafting, signing) runs on a thread of its own, paced so that it yields the cores to
the seal stage while that works (processors/report_stage.py: SealBacklog, ReportPacer).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from battrace.compliance.issue import awaits_inputs, draft_report, signed_row
from battrace.keys import KeyRing
from battrace.report.model import TraceabilityReport
from battrace.settings import Settings
from battrace.store.sink import SinkBatch
from processors import report_stage
from processors.clickhouse_writer import ClickHouseWriter
from processors.log_signing import LogSigning

log = logging.getLogger(__name__)
T = TypeVar("T")


class ReportIssuer:
    def __init__(
        self, settings: Settings, clickhouse: ClickHouseWriter, signing: LogSigning, backlog: report_stage.SealBacklog
    ) -> None:
        self._settings = settings
        self._clickhouse = clickhouse
        self._signing = signing
        self._backlog = backlog
        self._pacer = report_stage.ReportPacer(backlog, settings.report_share)  # most cores to live sealing
        self._reads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reports")

    def _work(self, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
        """``fn(*args)`` on the report thread, paced while the seal stage works (report_stage.ReportPacer)."""
        return self._pacer.run(lambda: asyncio.get_running_loop().run_in_executor(self._reads, fn, *args))

    async def _draft(self, shipment_id: str) -> TraceabilityReport | None:
        """The report draft; re-drafted for a bounded time while its lots' inputs are still in flight."""

        def draft_once() -> Awaitable[TraceabilityReport | None]:
            return self._work(draft_report, self._clickhouse.report_client, shipment_id)

        settings = self._settings
        return await report_stage.draft_until_inputs_arrive(
            draft_once, awaits_inputs, settings.report_inputs_wait_s, self._backlog, settings.report_defer_s
        )

    async def issue(self, delivery: dict[str, Any]) -> None:
        """The delivery of a consignment (not its order or dispatch) triggers its signed traceability report."""
        # Wait (bounded) until a signed checkpoint covers the delivery, so field 12 can prove it.
        wait_s = self._settings.report_checkpoint_wait_s
        if not await self._signing.covers(delivery["log_id"], delivery["log_index"], wait_s):
            log.warning("no checkpoint covers the delivery of %s yet: its seal reference is missing", delivery)
        draft = await self._draft(delivery["entity_id"])
        if draft is None:
            return
        # canonical JSON and two signatures: off the event loop
        row = await self._work(signed_row, draft, KeyRing(self._settings))
        batch = SinkBatch()
        batch.add("reports", row)
        await self._clickhouse.write(batch)
