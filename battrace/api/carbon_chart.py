"""The carbon footprint per lifecycle stage as a horizontal bar chart, drawn on the server as SVG geometry.

Four bars do not need a chart library, and a library would mean shipping JavaScript to every phone that scans a
QR code; the page's template turns these bars into ``<rect>`` and ``<text>`` elements (autoescaped, no script). A
stage without data is drawn as no bar with the word "no data": absence is never drawn as zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WIDTH = 320  # SVG user units; the SVG scales to the page's width (viewBox)
LABEL_WIDTH = 110
BAR_HEIGHT = 22
GAP = 10
VALUE_ROOM = 70  # room right of the longest bar for its figure


@dataclass(frozen=True)
class Bar:
    """One stage's bar: where it is drawn and what it says."""

    stage: str
    label: str
    value: float | None  # None: no ledger line for the stage
    x: float
    y: float
    width: float
    height: float
    text: str  # the figure printed after the bar


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    width: int
    height: int
    unit: str


def stage_label(stage: str) -> str:
    return stage.replace("_", " ").capitalize()


def stage_chart(values: Mapping[str, float | None], stages: Sequence[str], unit: str) -> Chart:
    """Bars for ``stages`` in order, lengths proportional to the largest value; negative values (credits) are drawn
    as bars of their magnitude and printed with their sign."""
    known = [abs(v) for v in values.values() if v is not None]
    scale = (WIDTH - LABEL_WIDTH - VALUE_ROOM) / max(known) if known and max(known) > 0 else 0.0
    bars = []
    for i, stage in enumerate(stages):
        value = values.get(stage)
        y = i * (BAR_HEIGHT + GAP)
        width = abs(value) * scale if value is not None else 0.0
        text = "no data" if value is None else f"{value:,.3f}"
        bars.append(Bar(stage, stage_label(stage), value, LABEL_WIDTH, y, round(width, 2), BAR_HEIGHT, text))
    height = max(len(stages) * (BAR_HEIGHT + GAP) - GAP, BAR_HEIGHT)
    return Chart(tuple(bars), WIDTH, height, unit)
