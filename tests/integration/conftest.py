"""Integration tests start the real components (embedded.py): the Tansu broker, chDB, workers, browsers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from embedded import Stack, embedded_stack


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with embedded_stack(tmp_path) as s:
        yield s
