"""The worker process's interpreter and allocator settings, applied once by its entry point (processors/__main__.py).

They change process-wide state (the collector, the GIL, glibc's arenas, library loggers), so importing a worker
module must not apply them: a test, a tool or the ingest child that imports the seal stage keeps its own defaults.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Mapping

from processors.runtime import heap

# The seal stage allocates millions of short-lived objects per second next to a large long-lived heap (entity
# states, faust's bookkeeping). With the default thresholds (700, 10, 10) the collector ran ~25 full collections
# of ~75 ms each in a 100k-event run, a tenth of the main thread; rarer young and full collections cost less
# and free the same garbage (almost all of it is freed by reference counting anyway).
GC_THRESHOLDS = (50_000, 20, 100)
# The ClickHouse writer thread needs the GIL back after every chDB call, and the seal stage's compute holds it
# for the whole switch interval (5 ms by default) before handing it over: inserts that take 2-4 ms in chDB took
# 10-20 ms in the worker. A shorter interval lets the writer (and its chDB threads) get back to work sooner.
GIL_SWITCH_INTERVAL_S = 0.0005
LOGLEVEL_ENV = "BATTRACE_WORKER_LOGLEVEL"  # also the level battrace/stack/worker.py passes to faust's --loglevel
# faust's worker spinner sets the *root* logger to DEBUG whenever the log level is above INFO, so every debug call
# in aiokafka, faust and mode built a record only to drop it (about a tenth of the worker's CPU). Those libraries
# are pinned to the worker's level: their own level wins over the root's.
NOISY_LOGGERS = ("aiokafka", "faust", "mode", "processors")


def worker_log_level(environ: Mapping[str, str] = os.environ) -> int:
    """The level asked for in BATTRACE_WORKER_LOGLEVEL (faust's spelling "warn" included); WARNING if unknown."""
    requested = environ.get(LOGLEVEL_ENV, "warn").upper()
    level = logging.getLevelName("WARNING" if requested == "WARN" else requested)
    return level if isinstance(level, int) else logging.WARNING


def apply_runtime(environ: Mapping[str, str] = os.environ) -> None:
    """Tune this process for the worker: collector thresholds, GIL switch interval, malloc arenas (before the
    threads that would each get one start) and the library loggers' level."""
    gc.set_threshold(*GC_THRESHOLDS)
    heap.limit_arenas()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    level = worker_log_level(environ)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(level)
