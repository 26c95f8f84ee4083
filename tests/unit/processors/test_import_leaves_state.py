"""Importing the worker's modules leaves the process as it was: the worker's entry point alone tunes it.

processors/__main__.py applies the GC thresholds, the GIL switch interval, malloc arenas, library log levels and
faust's patches (processors/runtime); the old processors/app.py did all of it on import, so every test or tool that
imported the seal stage ran with a patched faust and a retuned interpreter. Modules are imported anew (removed from
sys.modules first, put back after) so that what they do on import happens here, whatever other tests imported.
"""

from __future__ import annotations

import gc
import importlib
import logging
import pkgutil
import sys
from collections.abc import Iterator
from typing import Any

import faust  # noqa: F401  (faust loaded before the snapshot: importing it is not what is tested)
import pytest
from faust.serializers import codecs
from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from mode.utils.queues import FlowControlEvent

import processors

# What processors/runtime/faust_patches.py replaces
PATCHED = [
    (Consumer, "_new_offset"),
    (Consumer, "_add_gap"),
    (FlowControlEvent, "resume"),
    (AIOKafkaConsumerThread, "_create_worker_consumer"),
]


def _state() -> dict[str, Any]:
    return {
        "gc thresholds": gc.get_threshold(),
        "GIL switch interval": sys.getswitchinterval(),
        "root log level": logging.root.level,
        "log levels": {name: logging.getLogger(name).level for name in ("aiokafka", "faust", "mode", "processors")},
        "faust codecs": dict(codecs.codecs),
        "patched faust methods": {f"{cls.__name__}.{name}": id(cls.__dict__[name]) for cls, name in PATCHED},
    }


@pytest.fixture
def fresh_processors() -> Iterator[None]:
    saved = {n: m for n, m in sys.modules.items() if n == "processors" or n.startswith("processors.")}
    for name in saved:
        del sys.modules[name]
    try:
        yield
    finally:
        for name in [n for n in sys.modules if n == "processors" or n.startswith("processors.")]:
            del sys.modules[name]
        sys.modules.update(saved)


def test_importing_every_module_of_processors_changes_nothing(fresh_processors: None) -> None:
    before = _state()
    names = [m.name for m in pkgutil.walk_packages(processors.__path__, prefix="processors.")]
    imported = [importlib.import_module(name) for name in ["processors", *names]]
    assert {"processors.__main__", "processors.worker", "processors.seal_stage"} <= {m.__name__ for m in imported}
    assert _state() == before
