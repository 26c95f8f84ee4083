"""The worker's ClickHouse writer on embedded chDB: a sink opened early is the one the stages use."""

from __future__ import annotations

from pathlib import Path

from battrace.settings import Settings
from processors.clickhouse_writer import ClickHouseWriter


def test_a_sink_opened_early_is_opened_once_and_is_the_one_the_stages_use(tmp_path: Path) -> None:
    writer = ClickHouseWriter(Settings(home=tmp_path))
    opening = writer.open_early()
    assert writer.open_early() is opening  # asked twice: still one opening
    assert writer.sink is opening.result()  # the stages' sink is the early one, not a second client
    assert writer.sink.row_format("events") is not None  # its tables exist: the DDL ran
