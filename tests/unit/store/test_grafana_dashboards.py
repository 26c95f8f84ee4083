"""The Grafana provisioning under deploy/grafana/ is what the generator makes from the panels: they never drift."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from battrace.cli.main import cli
from battrace.store.grafana_dashboards import DASHBOARD_FILE, DATASOURCE, PLUGIN, dashboard, grafana_files
from battrace.store.panels import PANELS

DEPLOYED = Path(__file__).resolve().parents[3] / "deploy" / "grafana"


def test_checked_in_files_equal_the_generated_ones() -> None:
    generated = grafana_files()
    on_disk = {str(p.relative_to(DEPLOYED)): p.read_text() for p in DEPLOYED.rglob("*") if p.is_file()}
    assert on_disk.keys() == generated.keys(), "run `battrace dashboard --grafana deploy/grafana`"
    for relative, text in generated.items():
        assert on_disk[relative] == text, f"{relative} differs: run `battrace dashboard --grafana deploy/grafana`"


def test_every_grafana_panel_runs_the_report_panel_sql_on_the_clickhouse_plugin() -> None:
    board = json.loads(grafana_files()[DASHBOARD_FILE])
    assert [p["title"] for p in board["panels"]] == [p.title for p in PANELS]
    for shown, panel in zip(board["panels"], PANELS, strict=True):
        (target,) = shown["targets"]
        assert target["rawSql"] == panel.sql
        assert target["datasource"] == shown["datasource"] == DATASOURCE and DATASOURCE["type"] == PLUGIN
    datasource = grafana_files()["provisioning/datasources/clickhouse.yaml"]
    assert f"type: {PLUGIN}" in datasource and f"uid: {DATASOURCE['uid']}" in datasource


def test_panels_do_not_overlap_on_the_grid() -> None:
    cells = set()
    for p in dashboard()["panels"]:
        g = p["gridPos"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & mine and g["x"] + g["w"] <= 24
        cells |= mine


def test_series_panels_pivot_and_time_panels_are_time_series() -> None:
    for shown, panel in zip(dashboard()["panels"], PANELS, strict=True):
        assert shown["type"] == ("timeseries" if panel.time_axis else "barchart")
        if panel.series is not None and not panel.time_axis:
            assert shown["transformations"][0]["id"] == "groupingToMatrix"


def test_the_command_writes_the_same_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["dashboard", "--grafana", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for relative, text in grafana_files().items():
        assert (tmp_path / relative).read_text() == text
