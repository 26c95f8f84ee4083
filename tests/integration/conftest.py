"""Integration tests start the real components (embedded.py): the broker, chDB, workers, browsers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from embedded import Stack, embedded_stack


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with embedded_stack(tmp_path) as s:
        yield s


def _brokers_under(directory: Path) -> list[str]:
    """Command lines of running Apache Kafka brokers whose configuration lies under ``directory``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:  # gone meanwhile
            continue
        text = " ".join(a.decode(errors="replace") for a in args)
        if "kafka.Kafka" in text and str(directory) in text:
            found.append(text)
    return found


@pytest.fixture(scope="session", autouse=True)
def no_broker_left_behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every Apache Kafka a test started is stopped by the end of the run (`make test-kafka` promises it)."""
    base = tmp_path_factory.getbasetemp()
    yield
    deadline = time.monotonic() + 10
    while _brokers_under(base) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _brokers_under(base), "Apache Kafka brokers still running after the tests"
