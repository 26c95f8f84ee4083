"""Importing any module of the project changes no interpreter or library state.

Tuning (GC thresholds, the GIL switch interval, malloc arenas), faust patches, codec registrations and log levels
belong to the worker's entry point (`python -m processors`), which applies them once; a module that did any of it
on import would change every process that imports it: the CLI, the API, the tests, a verifier's script.
"""

from __future__ import annotations

import ast
import gc
import importlib
import logging
import pkgutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faust.serializers import codecs

PROJECT = ("schemas", "streams", "processors", "battrace")
LIBRARIES = ("faust", "mode", "aiokafka")


def _project_modules() -> list[str]:
    names = []
    for top in PROJECT:
        package = importlib.import_module(top)
        names.append(top)
        names += [m.name for m in pkgutil.walk_packages(package.__path__, prefix=f"{top}.")]
    return names


def _library_modules_the_project_imports() -> set[str]:
    """Read from the sources, so the snapshot holds every library class a project module could patch on import."""
    found = set()
    for top in PROJECT:
        for path in Path(importlib.import_module(top).__path__[0]).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.add(node.module)
                elif isinstance(node, ast.Import):
                    found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] in LIBRARIES}


def _library_classes() -> Iterator[type]:
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(LIBRARIES):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, type) and value.__module__ == name:
                yield value


def _state() -> dict[str, Any]:
    loggers = logging.Logger.manager.loggerDict
    return {
        "gc thresholds": gc.get_threshold(),
        "GIL switch interval": sys.getswitchinterval(),
        "root log level": logging.root.level,
        "root log handlers": list(logging.root.handlers),
        "log levels": {n: lg.level for n, lg in list(loggers.items()) if isinstance(lg, logging.Logger)},
        "faust codecs": dict(codecs.codecs),
        "library classes": {
            f"{cls.__module__}.{cls.__qualname__}": {k: id(v) for k, v in vars(cls).items()}
            for cls in _library_classes()
        },
    }


@pytest.fixture
def fresh_project_modules() -> Iterator[None]:
    """Project modules imported anew for the test; the originals are put back after, so other tests keep theirs."""
    saved = {n: m for n, m in sys.modules.items() if n.split(".")[0] in PROJECT}
    for name in saved:
        del sys.modules[name]
    try:
        yield
    finally:
        for name in [n for n in sys.modules if n.split(".")[0] in PROJECT]:
            del sys.modules[name]
        sys.modules.update(saved)


def test_importing_every_module_changes_no_interpreter_or_library_state(fresh_project_modules: None) -> None:
    libraries = _library_modules_the_project_imports()
    assert {"faust.transport.consumer", "mode.utils.queues"} <= libraries  # what the worker's patches replace
    for name in libraries:
        importlib.import_module(name)
    names = _project_modules()
    assert {"processors.__main__", "processors.worker", "processors.seal_stage", "battrace.cli.main"} <= set(names)
    before = _state()
    imported = [importlib.import_module(name) for name in names]
    after = _state()
    assert len(imported) == len(names)
    changed = {key for key in before if key not in ("log levels", "library classes") and before[key] != after[key]}
    changed |= {f"level of logger {n}" for n, level in before["log levels"].items() if after["log levels"][n] != level}
    changed |= {
        f"class {name}"
        for name, attrs in before["library classes"].items()
        if after["library classes"].get(name) != attrs
    }
    assert not changed, sorted(changed)
