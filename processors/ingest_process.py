"""The ingest stage's child process (``python -m processors.ingest``), started first and watched by the worker.

Why it starts before the worker builds its Faust app: the child imports its own modules, joins its own consumer
group and loads its dedup state, none of which needs the seal stage. Started from a Faust task, it began only once
the app had imported, started and joined its group (faust runs app tasks after that), and a crashed worker's
successor sealed a new event only after both start-ups one after the other; started first, they overlap.

Why a child at all: a second core for the stage that does not touch ClickHouse, which embedded chDB allows in one
process only (processors/worker.py ``run_ingest``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys

from battrace.settings import Settings
from processors.failures import EXIT_PROCESSING_FAILED
from processors.metrics import MULTIPROC_ENV, fresh_multiprocess_dir

log = logging.getLogger(__name__)
POLL_S = 0.2  # how soon the worker notices its ingest process ended (it then exits: the supervisor restarts both)


class IngestProcess:
    """One ingest child: ``start`` it (no event loop needed), then ``supervise`` it from the worker's loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.child: subprocess.Popen[bytes] | None = None

    def start(self) -> IngestProcess:
        """Start the child; with a metrics port, it writes its metrics where the worker's /metrics reads them
        (processors/metrics.py)."""
        if self.child is None:
            env = dict(os.environ)
            if self.settings.metrics_port:
                env[MULTIPROC_ENV] = str(fresh_multiprocess_dir(self.settings.ingest_metrics_dir))
            self.child = subprocess.Popen([sys.executable, "-m", "processors.ingest"], env=env)
        return self

    def stop(self) -> None:
        """Terminate the child and wait for it (a worker that stops before it ran must not leave it behind)."""
        child = self.child
        if child is not None and child.poll() is None:
            child.terminate()
            child.wait()

    async def supervise(self) -> None:
        """Wait for the child; the worker exits when it ends (a failed batch is redelivered to the next ingest
        process), and stops it when the worker stops (this task is cancelled)."""
        child = self.start().child
        assert child is not None
        try:
            while (code := child.poll()) is None:
                await asyncio.sleep(POLL_S)
        except asyncio.CancelledError:  # the worker stops: so does its ingest process
            if child.poll() is None:
                child.terminate()
                await asyncio.to_thread(child.wait)
            raise
        if code == -signal.SIGTERM:  # the worker's process group is being stopped: faust stops (and cancels us) too
            await asyncio.sleep(10)
        log.critical("the ingest process exited with %s: exiting", code)
        os._exit(EXIT_PROCESSING_FAILED)
