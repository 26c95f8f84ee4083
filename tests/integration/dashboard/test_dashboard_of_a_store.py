"""`battrace dashboard` on a processed and audited simulator run: every panel query returns rows, the report's tables
equal the SQL views, it renders offline in headless Chromium, and a tampered store gets a report marked NOT VERIFIED.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from api.headless_chromium import chromium, missing_reason
from embedded import embedded_stack, run_sql, write_sql

from battrace.store.panels import PANELS, Panel
from streams.simulator import simulate

REPORT = "battrace-dashboard.html"
DATETIME_MICROS = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")


@dataclass
class Drawn:
    home: Path
    out: Path
    html: str
    result: subprocess.CompletedProcess


def battrace(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "battrace", *args], env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> Drawn:
    home = tmp_path_factory.mktemp("dashboard")
    events = list(simulate(3000, seed=7))
    with embedded_stack(home) as stack:
        stack.publish(events)
        stack.process(reports_of=events)
    audited = battrace(home, "audit", "--json")
    assert audited.returncode == 0, audited.stderr[-2000:]
    out = home / "report"
    result = battrace(home, "dashboard", "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    return Drawn(home, out, (out / REPORT).read_text(encoding="utf-8"), result)


class Tables(HTMLParser):
    """Cell texts of the report's tables: each panel's (by data-panel) and the checkpoints table."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("data-panel") or a.get("id")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = ""

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append(self._cell)
            self._cell = None
        elif tag == "table":
            self._table = None


def tables(html: str) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def same(shown: str, value: object) -> bool:
    """A table cell shows this value (as `battrace query` prints it: JSON, dates as text)."""
    if value is None:
        return shown == "—"
    if isinstance(value, bool):
        return shown == ("yes" if value else "no")
    if isinstance(value, int | float):
        return float(shown) == value
    text = str(value)  # a DateTime64(3) as `battrace query` prints it has microseconds: the table shows milliseconds
    return shown == (text[:-3] if DATETIME_MICROS.fullmatch(text) else text)


def test_the_command_says_the_store_verified(drawn: Drawn) -> None:
    assert "report of the verified store" in drawn.result.stdout and str(drawn.out / REPORT) in drawn.result.stdout
    assert 'id="verification" class="verified"' in drawn.html and "NOT VERIFIED" not in drawn.html


@pytest.mark.parametrize("panel", PANELS, ids=lambda p: p.id)
def test_every_panel_query_returns_rows_and_the_report_shows_them(drawn: Drawn, panel: Panel) -> None:
    rows = run_sql(drawn.home, panel.sql)
    assert rows, f"{panel.id} returned no rows on a demo-like store"
    header, *shown = tables(drawn.html)[panel.id]
    volatile = {header.index(c) for c in panel.volatile}
    assert len(shown) == len(rows)
    for cells, row in zip(shown, rows, strict=True):
        for i, (cell, value) in enumerate(zip(cells, row, strict=True)):
            if i not in volatile:
                assert same(cell, value), (panel.id, header[i], cell, value)


def test_carbon_and_recycled_tables_match_the_analyst_views(drawn: Drawn) -> None:
    shown = tables(drawn.html)
    totals = {r[0]: r[-1] for r in shown["carbon_per_kwh"][1:]}
    view = run_sql(
        drawn.home,
        "SELECT concat(model, ' @ ', site_id), batteries, avg_total_per_kwh FROM battrace.footprint_by_model_plant "
        "WHERE product_type = 'pack'",
    )
    assert totals and set(totals) == {r[0] for r in view}
    for model_plant, _, total in view:  # no total while a stage has no data in the group, never a mean with zeros
        assert (
            same(totals[model_plant], None)
            if total is None
            else float(totals[model_plant]) == pytest.approx(total, abs=5e-7)
        )
    header, *recycled = shown["recycled_content"]
    col = {name: header.index(name) for name in ("declaration", "recycled_pct", "min_2031_pct", "meets_2031")}
    declared = run_sql(
        drawn.home,
        "SELECT concat(element, ': ', model, ' @ ', site_id, ' ', toString(year)), declared_share * 100, "
        "target_2031 * 100, declared_meets_2031 FROM battrace.recycled_by_model_plant_year "
        "WHERE product_type = 'pack' AND total_element_kg > 0",
    )
    by_declaration = {r[col["declaration"]]: r for r in recycled}
    assert len(by_declaration) == len(declared) > 0
    for name, share, target, meets in declared:
        row = by_declaration[name]
        assert float(row[col["recycled_pct"]]) == pytest.approx(share, abs=5e-5)
        assert float(row[col["min_2031_pct"]]) == pytest.approx(target)
        assert row[col["meets_2031"]] == ("yes" if meets else "no")
    ineligible = run_sql(drawn.home, "SELECT count() FROM battrace.lot_eligibility FINAL WHERE NOT eligible")[0][0]
    assert sum(int(r[2]) for r in shown["lot_eligibility"][1:]) == ineligible > 0


def test_the_report_names_the_newest_checkpoints(drawn: Drawn) -> None:
    newest = run_sql(
        drawn.home,
        "SELECT log_id, max(size), argMax(root, size) FROM battrace.checkpoints FINAL GROUP BY log_id ORDER BY log_id",
    )
    shown = tables(drawn.html)["checkpoints"][1:]
    assert [(log, int(size), root.rstrip("…")) for log, size, root in shown] == [
        (log, size, root[:16]) for log, size, root in newest
    ]
    line = f"{newest[0][0]} size {newest[0][1]} root {newest[0][2][:16]}…"
    assert drawn.html.count(line) == len(PANELS)  # under every figure


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    with chromium(tmp_path_factory.mktemp("chromium")) as driver:
        yield driver


def test_the_report_renders_offline_in_chromium(drawn: Drawn, browser, tmp_path: Path) -> None:
    """Every request but the file itself is blocked and recorded: none may go out, no console error, an svg per
    figure; the screenshot is written under the test's directory."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*", "ws://*", "wss://*"]})
    browser.get_log("browser")  # what earlier pages logged is not this page's
    browser.get((drawn.out / REPORT).as_uri())
    drawn_svgs = "return document.querySelectorAll('div.plotly-graph-div svg.main-svg').length"
    WebDriverWait(browser, 60).until(lambda d: d.execute_script(drawn_svgs) >= len(PANELS))
    figures = browser.find_elements(By.CSS_SELECTOR, "div.plotly-graph-div")
    assert [f.get_attribute("id") for f in figures] == [f"figure-{p.id}" for p in PANELS]
    for figure in figures:
        assert figure.find_elements(By.CSS_SELECTOR, "svg.main-svg"), figure.get_attribute("id")
    assert browser.execute_script("return typeof Plotly") == "object"
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert [r for r in resources if not r.startswith(("file:", "data:", "blob:"))] == []
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(int(height) + 100, 16000))
    shot = tmp_path / "dashboard.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 50_000
    print(f"screenshot: {shot}")


def test_a_tampered_store_gets_a_report_marked_not_verified(drawn: Drawn, tmp_path: Path) -> None:
    """A pack's footprint doubled: the report is still written, under a NOT VERIFIED banner that names the battery,
    and the command exits 1; undone, the store verifies again. (Last in the module: it changes the shared store. A
    copy would not do: chDB's store links its tables by absolute path.)"""
    (battery,) = run_sql(
        drawn.home,
        "SELECT battery_id FROM battrace.footprints FINAL WHERE product_type = 'pack' ORDER BY battery_id LIMIT 1",
    )[0]
    footprint = (
        f"ALTER TABLE battrace.footprints UPDATE total_per_kwh = total_per_kwh * {{}} WHERE battery_id = '{battery}'"
    )
    write_sql(drawn.home, footprint.format(2))
    try:
        result = battrace(drawn.home, "dashboard", "--out", str(tmp_path / "out"))
    finally:
        write_sql(drawn.home, footprint.format(0.5))  # exact: halving undoes doubling in binary floating point
    assert result.returncode == 1, result.stderr[-2000:]
    assert "NOT VERIFIED" in result.stderr and battery in result.stderr
    html = (tmp_path / "out" / REPORT).read_text(encoding="utf-8")
    banner = html.split('id="verification" class="failed"', 1)[1].split("</div>", 1)[0]
    assert "NOT VERIFIED" in banner and battery in banner
    again = battrace(drawn.home, "dashboard", "--out", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr[-2000:]
