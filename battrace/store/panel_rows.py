"""Run the dashboards' panel statements (battrace/store/panels.py) against the store, with the checkpoints they ran at.

The newest checkpoints are read before and after the panels: a store that grew in between (a worker writing to a
ClickHouse server) gave figures computed at different states, and the snapshot says so instead of labelling them all
with one checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.store.panels import NEWEST_CHECKPOINTS, PANELS, Panel


@dataclass(frozen=True)
class NewestCheckpoint:
    """A log's newest signed checkpoint: its origin, tree size and hex root."""

    log_id: str
    size: int
    root: str


@dataclass(frozen=True)
class PanelRows:
    """What one panel's statement returned, column names in select order."""

    panel: Panel
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def column(self, name: str) -> list[Any]:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]


@dataclass(frozen=True)
class Snapshot:
    """Every panel's rows, the checkpoints they were computed at and when; ``moved``: the store grew meanwhile."""

    panels: tuple[PanelRows, ...]
    checkpoints: tuple[NewestCheckpoint, ...]
    taken_at: datetime
    moved: bool


def newest_checkpoints(client: Client) -> tuple[NewestCheckpoint, ...]:
    return tuple(NewestCheckpoint(r[0], int(r[1]), r[2]) for r in client.query(NEWEST_CHECKPOINTS).result_rows)


def panel_rows(client: Client, panel: Panel) -> PanelRows:
    result = client.query(panel.sql)
    return PanelRows(panel, tuple(result.column_names), tuple(tuple(r) for r in result.result_rows))


def snapshot(client: Client, panels: tuple[Panel, ...] = PANELS) -> Snapshot:
    before = newest_checkpoints(client)
    taken_at = datetime.now(UTC)
    read = tuple(panel_rows(client, p) for p in panels)
    return Snapshot(read, before, taken_at, moved=newest_checkpoints(client) != before)
