"""The analyst report's HTML from rows: the numbers as the SQL gave them, the checkpoints, nothing loaded from the
network, and a failed verification impossible to miss."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser

from battrace.report.dashboard_html import Verification, cell_text, render
from battrace.store.panel_rows import NewestCheckpoint, PanelRows, Snapshot
from battrace.store.panels import CARBON_PER_KWH, CUSTODY_FLAGS, DWELL_BY_HUB, REJECTS_OVER_TIME

CHECKPOINTS = (
    NewestCheckpoint("battrace.example/log/0", 2718, "6b706dc30cbc98f6" + "0" * 48),
    NewestCheckpoint("battrace.example/log/1", 2370, "8e6dbf1060ff5a84" + "1" * 48),
)
CARBON = PanelRows(
    CARBON_PER_KWH,
    ("model_plant", "batteries", "without_distribution", "raw_material", "production", "distribution", "end_of_life",
     "total"),
    (("CH-P12 @ CN-AH-HEFEI-CELL", 3, 2, 0.063111, 0.025761, 0.000639, 0.0, 0.089511),
     ("MJ-P16 @ CN-FJ-NINGDE-CELL", 2, 2, 0.088586, 0.018817, 0.0, 0.0, 0.107403)),
)  # fmt: skip
FLAGS = PanelRows(CUSTODY_FLAGS, ("day", "flag", "flags"), ((date(2026, 1, 7), "custody: expired", 1),))
NO_DWELL = PanelRows(DWELL_BY_HUB, ("hub", "visits", "avg_dwell_h", "max_dwell_h"), ())


def snapshot(moved: bool = False) -> Snapshot:
    return Snapshot((CARBON, FLAGS, NO_DWELL), CHECKPOINTS, datetime(2026, 1, 20, 8, 0, tzinfo=UTC), moved)


class Tables(HTMLParser):
    """Cell texts of every table with a data-panel attribute, and every script's src."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.scripts: list[str | None] = []
        self._panel: str | None = None
        self._cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and "data-panel" in a:
            self._panel = a["data-panel"]
            self.tables[self._panel] = []
        elif tag == "tr" and self._panel:
            self.tables[self._panel].append([])
        elif tag in ("td", "th") and self._panel:
            self._cell = ""
        elif tag == "script":
            self.scripts.append(a.get("src"))

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._panel and self._cell is not None:
            self.tables[self._panel][-1].append(self._cell)
            self._cell = None
        elif tag == "table":
            self._panel = None


def parsed(html: str) -> Tables:
    p = Tables()
    p.feed(html)
    return p


def test_tables_hold_the_rows_exactly() -> None:
    tables = parsed(render(snapshot(), Verification(True, 764))).tables
    header, *rows = tables["carbon_per_kwh"]
    assert header == list(CARBON.columns)
    assert rows == [[cell_text(v) for v in r] for r in CARBON.rows]
    assert [float(v) for v in rows[0][3:]] == list(CARBON.rows[0][3:])  # shortest exact float text
    assert tables["custody_flags"][1] == ["2026-01-07", "custody: expired", "1"]
    assert tables["dwell_by_hub"][1] == ["no rows"]


def test_cell_text() -> None:
    assert cell_text(None) == "—" and cell_text(True) == "yes" and cell_text(0.1 + 0.2) == "0.30000000000000004"
    assert cell_text(datetime(2026, 1, 5, 7, 26)) == "2026-01-05 07:26:00"
    assert cell_text(datetime(2026, 1, 5, 7, 26, 0, 120000)) == "2026-01-05 07:26:00.120"


def test_one_figure_per_panel_and_plotly_embedded_nothing_fetched() -> None:
    html = render(snapshot(), Verification(True, 764))
    for panel in ("carbon_per_kwh", "custody_flags", "dwell_by_hub"):
        assert f'id="figure-{panel}"' in html
    assert html.count("Plotly.newPlot") == 3
    p = parsed(html)
    assert p.scripts and all(src is None for src in p.scripts)  # every script inline
    assert len(html) > 3_000_000  # plotly.js itself is in the page
    assert not re.search(r"""<(?:link|img|iframe)[^>]+(?:href|src)=["']?https?:""", html)


def test_every_figure_names_the_checkpoints_it_was_computed_at() -> None:
    html = render(snapshot(), Verification(True, 764))
    computed = re.findall(r'<p class="computed-at">(.*?)</p>', html)
    assert len(computed) == 3
    for line in computed:
        assert "battrace.example/log/0 size 2718 root 6b706dc30cbc98f6…" in line
        assert "battrace.example/log/1 size 2370 root 8e6dbf1060ff5a84…" in line


def test_a_verified_store_says_so() -> None:
    html = render(snapshot(), Verification(True, 764))
    assert 'id="verification" class="verified"' in html and "checked 764 chains" in html
    assert "NOT VERIFIED" not in html


def test_a_failed_verification_is_a_banner_naming_the_failures() -> None:
    failures = tuple(f"battery:CH2PBQD2000002T1600000{i:02d}: footprints row differs" for i in range(25))
    html = render(snapshot(), Verification(False, 764, failures))
    banner = html.split('id="verification" class="failed"', 1)[1].split("</div>", 1)[0]
    assert "NOT VERIFIED" in banner and "found 25 failures" in banner
    assert failures[0] in banner and failures[19] in banner and failures[20] not in banner
    assert "and 5 more" in banner
    assert html.index('id="verification"') < html.index('class="panel"')  # above every figure


def test_a_store_that_moved_while_read_says_so() -> None:
    assert "The store grew while the figures were read" in render(snapshot(moved=True), Verification(True, 1))
    assert "The store grew" not in render(snapshot(), Verification(True, 1))


def test_operational_panels_say_verify_does_not_cover_them() -> None:
    rejects = PanelRows(REJECTS_OVER_TIME, ("day", "reason", "rejected"), ())
    html = render(Snapshot((rejects,), CHECKPOINTS, datetime.now(UTC), False), Verification(True, 1))
    assert 'data-verified="false"' in html and "not covered by battrace verify" in html
