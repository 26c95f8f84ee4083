"""`python -m processors worker` runs a Faust worker of the battrace pipeline (faust's command line follows).

The one place that changes process-wide state for the worker, before anything else runs: interpreter and allocator
tuning (processors/runtime/tuning.py), faust's patches (processors/runtime/faust_patches.py, which refuse a faust
they were not written for) and the broker's workarounds (processors/broker.py). Importing the worker's modules
elsewhere (tests, tools, the ingest child) leaves all of it alone.
"""

from __future__ import annotations

from battrace.settings import get_settings
from processors import broker
from processors.runtime import faust_patches, tuning
from processors.worker import build_worker


def main() -> None:
    settings = get_settings()
    tansu = broker.embedded_tansu(settings)
    tuning.apply_runtime()
    faust_patches.apply()
    fetch_wait_ms = broker.fetch_max_wait_ms(settings, tansu)
    if fetch_wait_ms is not None:
        faust_patches.set_worker_fetch_max_wait(fetch_wait_ms)
    build_worker(settings, tansu=tansu).app.main()


if __name__ == "__main__":
    main()
