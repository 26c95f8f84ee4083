"""The analyst report as one self-contained HTML file: every panel's figure (Plotly), its numbers and checkpoints.

Pure: rows in, text out (battrace/report/dashboard.py reads the store and writes the file). The file must open
offline, on an air-gapped auditor's machine too, so plotly.js is embedded once in the page (no CDN) and nothing else
is loaded from anywhere. Each figure has its numbers in a table beside it, exactly as the panel's SQL returned them,
so a reader can check a bar against the data; and each names the newest signed checkpoint of every log it was
computed at. Whether `battrace verify` passed is the first thing on the page; when it did not, a banner says so and
names the failures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from battrace.store.panel_rows import NewestCheckpoint, PanelRows, Snapshot

ROOT_PREFIX = 16  # hex digits of a checkpoint root shown: enough to compare with `battrace verify` and the logs
SHOWN_FAILURES = 20


@dataclass(frozen=True)
class Verification:
    """What `battrace verify` said about the store the figures come from (``failures``: one line each)."""

    ok: bool
    checked: int
    failures: tuple[str, ...] = ()


def cell_text(value: Any) -> str:
    """A value as the tables show it: floats in their shortest exact form, so the table equals the SQL result."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="milliseconds" if value.microsecond else "seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def checkpoints_text(checkpoints: Sequence[NewestCheckpoint]) -> str:
    if not checkpoints:
        return "no signed checkpoint"
    return "; ".join(f"{c.log_id} size {c.size} root {c.root[:ROOT_PREFIX]}…" for c in checkpoints)


def _traces(data: PanelRows) -> list[go.BaseTraceType]:
    panel = data.panel
    xs = data.column(panel.x)
    traces: list[go.BaseTraceType] = []
    if panel.series is not None:
        split = data.column(panel.series)
        values = data.column(panel.y[0])
        for name in dict.fromkeys(split):
            picked = [i for i, s in enumerate(split) if s == name]
            x, y = [xs[i] for i in picked], [values[i] for i in picked]
            if panel.chart == "line":
                traces.append(go.Scatter(x=x, y=y, name=str(name), mode="lines+markers"))
            else:
                traces.append(go.Bar(x=x, y=y, name=str(name)))
    else:
        for column in panel.y:
            traces.append(go.Bar(x=xs, y=data.column(column), name=column))
    for column in panel.marks:
        marker = {"symbol": "line-ew-open", "size": 22, "line": {"width": 3}}
        traces.append(go.Scatter(x=xs, y=data.column(column), name=column, mode="markers", marker=marker))
    return traces


def figure_html(data: PanelRows) -> str:
    """The panel's figure as a div (plotly.js itself is in the page head); a panel without rows says so."""
    panel = data.panel
    fig = go.Figure(data=_traces(data) if data.rows else [])
    fig.update_layout(
        barmode="stack" if panel.chart == "stacked_bar" else "group",
        height=420,
        margin={"l": 60, "r": 20, "t": 30, "b": 120},
        yaxis_title=panel.unit,
        legend={"orientation": "h", "y": -0.35},
        template="plotly_white",
    )
    if not data.rows:
        fig.add_annotation(text="no rows", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    config = {"displaylogo": False, "responsive": True}
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=f"figure-{panel.id}", config=config)


def table_html(data: PanelRows) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in data.columns)
    body = (
        "".join("<tr>" + "".join(f"<td>{escape(cell_text(v))}</td>" for v in row) + "</tr>" for row in data.rows)
        or f'<tr><td colspan="{len(data.columns)}">no rows</td></tr>'
    )
    table = f'<table class="numbers" data-panel="{escape(data.panel.id)}">'
    return f"{table}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def panel_html(data: PanelRows, checkpoints: Sequence[NewestCheckpoint]) -> str:
    panel = data.panel
    badge = (
        '<span class="badge verified">recomputed by battrace verify</span>'
        if panel.verified
        else '<span class="badge operational">operational figure: not covered by battrace verify</span>'
    )
    return f"""<section class="panel" id="panel-{escape(panel.id)}" data-verified="{str(panel.verified).lower()}">
<h2>{escape(panel.title)}</h2>
<p class="description">{escape(panel.description)} {badge}</p>
<div class="side">
<div class="figure">{figure_html(data)}</div>
<div class="table">{table_html(data)}</div>
</div>
<p class="computed-at">Computed at: {escape(checkpoints_text(checkpoints))}</p>
<details><summary>SQL</summary><pre>{escape(panel.sql)}</pre></details>
</section>"""


def verification_html(verification: Verification) -> str:
    if verification.ok:
        counted = f"{verification.checked} chains" if verification.checked else "every chain"
        return (
            f'<p id="verification" class="verified">Verified: <code>battrace verify</code> checked {counted}, '
            "their logs, checkpoint signatures and derived rows; all hold.</p>"
        )
    shown = "".join(f"<li>{escape(f)}</li>" for f in verification.failures[:SHOWN_FAILURES])
    more = len(verification.failures) - SHOWN_FAILURES
    more_line = f"<li>… and {more} more (run <code>battrace verify --all</code>)</li>" if more > 0 else ""
    return (
        '<div id="verification" class="failed"><p><strong>NOT VERIFIED</strong>: <code>battrace verify</code> found '
        f"{len(verification.failures)} failures in this store. The figures below may show altered or missing data; "
        f"do not rely on them until verification passes.</p><ul>{shown}{more_line}</ul></div>"
    )


STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
h1 { margin-bottom: 0.2rem; }
#verification { padding: 0.6rem 1rem; border-radius: 6px; }
#verification.verified { background: #e6f4ea; border: 1px solid #34a853; }
#verification.failed { background: #fce8e6; border: 3px solid #d93025; color: #a50e0e; font-size: 1.1rem; }
.moved { background: #fef7e0; border: 1px solid #f9ab00; padding: 0.4rem 1rem; }
.panel { border-top: 1px solid #ddd; margin-top: 1.5rem; }
.side { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
.figure { flex: 3 1 560px; min-width: 0; }
.table { flex: 2 1 360px; overflow-x: auto; max-height: 440px; overflow-y: auto; }
table { border-collapse: collapse; font-size: 0.8rem; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; position: sticky; top: 0; }
.badge { font-size: 0.75rem; padding: 1px 6px; border-radius: 4px; white-space: nowrap; }
.badge.verified { background: #e6f4ea; }
.badge.operational { background: #fef7e0; }
.computed-at { font-size: 0.8rem; color: #555; }
"""


def render(snapshot: Snapshot, verification: Verification) -> str:
    """The whole report: one HTML document that needs nothing but itself."""
    moved = (
        '<p class="moved">The store grew while the figures were read: they may have been computed at newer data '
        "than the checkpoints named.</p>"
        if snapshot.moved
        else ""
    )
    checkpoint_rows = "".join(
        f"<tr><td>{escape(c.log_id)}</td><td>{c.size}</td><td><code>{escape(c.root[:ROOT_PREFIX])}…</code></td></tr>"
        for c in snapshot.checkpoints
    )
    panels = "\n".join(panel_html(p, snapshot.checkpoints) for p in snapshot.panels)
    taken_at = snapshot.taken_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>battrace analyst report</title>
<style>{STYLE}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
<h1>battrace analyst report</h1>
<p>Computed {escape(taken_at)} from the store's newest signed checkpoints:</p>
<table id="checkpoints"><thead><tr><th>log</th><th>size</th><th>root</th></tr></thead>
<tbody>{checkpoint_rows}</tbody></table>
{verification_html(verification)}
{moved}
{panels}
</body>
</html>
"""
