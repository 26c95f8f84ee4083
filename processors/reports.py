"""Traceability reports, drafted and signed by the manufacturer's QA when a consignment is delivered.

The draft goes out as a ReportDrafted step on reports.events; it becomes a ``reports`` row once it is sealed into the
consignment's chain, where the third-party verifier finds it (battrace/compliance/issue.py).

Report work (ClickHouse reads, drafting, signing) runs on a thread of its own, paced so that it yields the cores to
the seal stage while that works (processors/report_stage.py: SealBacklog, ReportPacer).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from battrace.compliance.issue import awaits_inputs, draft_report, drafted_step
from battrace.keys import KeyRing
from battrace.report.model import TraceabilityReport
from battrace.report.signing import MANUFACTURER_QA
from battrace.settings import Settings
from processors import report_stage
from processors.clickhouse_writer import ClickHouseWriter
from processors.log_signing import LogSigning

log = logging.getLogger(__name__)
T = TypeVar("T")
PublishStep = Callable[[dict[str, Any]], Awaitable[None]]  # a ReportEvent record -> acknowledged by the broker


class ReportIssuer:
    def __init__(
        self,
        settings: Settings,
        clickhouse: ClickHouseWriter,
        signing: LogSigning,
        backlog: report_stage.SealBacklog,
        publish: PublishStep,
    ) -> None:
        self._settings = settings
        self._publish = publish
        self._drafted: set[str] = set()  # consignments drafted by this process (their rows may still be in flight)
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
        """The delivery of a consignment (not its order or dispatch) triggers its traceability report's draft."""
        # Wait (bounded) until a signed checkpoint covers the delivery, so field 12 can prove it.
        wait_s = self._settings.report_checkpoint_wait_s
        if not await self._signing.covers(delivery["log_id"], delivery["log_index"], wait_s):
            log.warning("no checkpoint covers the delivery of %s yet: its seal reference is missing", delivery)
        if delivery["entity_id"] in self._drafted:
            return
        draft = await self._draft(delivery["entity_id"])
        if draft is None:
            return
        # canonical JSON and the QA signature: off the event loop
        qa = KeyRing(self._settings).report_signer(MANUFACTURER_QA)
        step = await self._work(drafted_step, draft, qa)
        await self._publish(step)
        self._drafted.add(delivery["entity_id"])
