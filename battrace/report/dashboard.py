"""Write the analyst report (battrace/report/dashboard_html.py) of a store into a directory.

The caller says what verification found (`battrace dashboard` runs `battrace verify` first; the demo passes the
verification it already ran): this layer reads sealed data and cannot run verification itself.
"""

from __future__ import annotations

from pathlib import Path

from clickhouse_connect.driver.client import Client

from battrace.report.dashboard_html import Verification, render
from battrace.store.panel_rows import snapshot

FILE_NAME = "battrace-dashboard.html"


def write_dashboard(client: Client, out_dir: Path, verification: Verification) -> Path:
    """Render every panel of the store into ``out_dir``/battrace-dashboard.html (replaced if present); its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / FILE_NAME
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render(snapshot(client), verification), encoding="utf-8")
    tmp.replace(path)  # a reader never sees half a report
    return path
