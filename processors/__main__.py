"""`python -m processors worker` runs a Faust worker of the battrace pipeline (faust's command line follows).

The one place that changes process-wide state for the worker, before anything else runs: interpreter and allocator
tuning (processors/runtime/tuning.py), faust's patches (processors/runtime/faust_patches.py, which refuse a faust
they were not written for) and the broker's workarounds (processors/broker.py). Importing the worker's modules
elsewhere (tests, tools, the ingest child) leaves all of it alone.

The ingest child starts before anything else, and the worker's heavy modules (faust and the stages, seconds to
import on two shared cores) are imported only after it: the two processes load and join their groups side by side
(processors/ingest_process.py says why that matters).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, NoReturn

from battrace.log_format import json_formatter
from battrace.settings import Settings, get_settings
from processors import broker
from processors.ingest_process import IngestProcess

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer


def say(settings: Settings, level: int, message: str) -> None:
    """One line on stderr before faust sets up logging: plain, or a JSON record with BATTRACE_LOG_FORMAT=json."""
    if settings.log_format == "json":
        record = logging.makeLogRecord(
            {"name": "processors", "levelno": level, "levelname": logging.getLevelName(level)}
        )
        record.msg = message
        message = json_formatter().format(record)
    print(message, file=sys.stderr)


def bind_metrics(settings: Settings) -> WSGIServer | None:
    """Bind BATTRACE_METRICS_PORT before anything starts (processors/metrics_server.py); a port that cannot be bound
    stops the worker there, with one line that says what to change. None when metrics are off."""
    if not settings.metrics_port:
        return None
    from processors.metrics_server import bind

    host, port = settings.metrics_host, settings.metrics_port
    try:
        return bind(host, port)
    except OSError as exc:
        why = f"cannot serve metrics on {host}:{port} ({exc.strerror})"
        say(settings, logging.ERROR, f"{why}: set BATTRACE_METRICS_PORT to a free port, or 0 to turn metrics off")
        sys.exit(2)


def main() -> None:
    entered = time.time()  # the interpreter and this module's imports are done: the first step of a start-up
    settings = get_settings()
    listener = bind_metrics(settings)
    ingest = IngestProcess(settings).start() if settings.ingest_process else None
    try:
        _run_worker(settings, ingest, listener, entered)
    except BaseException as exc:
        if ingest is not None:
            ingest.stop()
        if isinstance(exc, SystemExit):  # how faust ends every run, a command line it refuses included
            exit_skipping_engine_teardown(exc.code)
        raise


def exit_skipping_engine_teardown(code: object) -> NoReturn:
    """End the process once faust is done: the exit handlers run and the output is flushed, but not the embedded
    ClickHouse engine's own teardown at interpreter exit, which could hang for good when the process ended while the
    engine was still opening (a worker whose command line faust refused stayed alive, its launcher waiting on it).
    Every row is on disk once its insert returned; what the teardown would do, the next open does (as after a
    SIGKILL, which the store is built to survive)."""
    atexit._run_exitfuncs()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    if code is None:
        os._exit(0)
    if isinstance(code, int):
        os._exit(code)
    print(code, file=sys.stderr, flush=True)
    os._exit(1)


def _run_worker(settings: Settings, ingest: IngestProcess | None, listener: WSGIServer | None, entered: float) -> None:
    from processors.metrics import BUILT, ENTERED
    from processors.metrics_server import answer, health_app
    from processors.runtime import faust_patches, tuning  # imported after the ingest child started (docstring)

    predecessors = _leave_for_dead_seal_members(settings)  # alongside the imports below, on its own thread
    from processors.worker import build_worker

    tansu = broker.embedded_tansu(settings)
    tuning.apply_runtime()
    faust_patches.apply()
    fetch_wait_ms = broker.fetch_max_wait_ms(settings, tansu)
    if fetch_wait_ms is not None:
        faust_patches.set_worker_fetch_max_wait(fetch_wait_ms)
    worker = build_worker(settings, tansu=tansu, ingest_process=ingest)
    worker.metrics.startup.reached(ENTERED, entered)
    worker.metrics.startup.reached(BUILT)
    if listener is not None:
        answer(listener, health_app(worker.metrics, worker.readiness))
        host, port = settings.metrics_host, settings.metrics_port
        say(settings, logging.INFO, f"metrics on http://{host}:{port}/metrics (health: /healthz, /readyz)")
    worker.clickhouse.open_early()  # while faust starts and joins (processors/clickhouse_writer.py)
    predecessors.join()  # before faust's consumer joins its group
    worker.app.main()


def _leave_for_dead_seal_members(settings: Settings) -> threading.Thread:
    """Take over the seal stage's group member of a killed worker (processors/predecessors.py), on a thread with its
    own event loop: faust's loop is not running yet, and the worker's imports go on meanwhile."""
    from processors.predecessors import before_join

    thread = threading.Thread(target=lambda: asyncio.run(before_join(settings, settings.app_id)), daemon=True)
    thread.start()
    return thread


if __name__ == "__main__":
    main()
