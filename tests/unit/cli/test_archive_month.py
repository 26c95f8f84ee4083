"""`battrace archive --until` takes a month and archives what was signed before the next one begins."""

from __future__ import annotations

from datetime import UTC, datetime

import click
import pytest

from battrace.cli.archive import month_end


@pytest.mark.parametrize(
    ("until", "end"),
    [("2026-03", datetime(2026, 4, 1, tzinfo=UTC)), ("2026-12", datetime(2027, 1, 1, tzinfo=UTC))],
)
def test_the_cut_is_the_first_instant_of_the_next_month(until: str, end: datetime) -> None:
    assert month_end(until) == end


@pytest.mark.parametrize("until", ["2026-13", "2026-00", "2026-3", "03-2026", "2026-03-31", ""])
def test_anything_but_a_month_is_a_usage_error_naming_the_format(until: str) -> None:
    with pytest.raises(click.UsageError, match="YYYY-MM"):
        month_end(until)
