"""The retention of rejects' raw bytes: a setting (BATTRACE_REJECT_BYTES_DAYS) turned into the TTL expression
ClickHouse prints back, so a worker start-up can tell whether the table has it already."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from battrace.settings import Settings
from battrace.store.retention import reject_bytes_ttl


def test_the_period_is_a_setting_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().reject_bytes_days == 90
    monkeypatch.setenv("BATTRACE_REJECT_BYTES_DAYS", "30")
    assert Settings().reject_bytes_days == 30
    monkeypatch.setenv("BATTRACE_REJECT_BYTES_DAYS", "0")
    with pytest.raises(ValidationError):
        Settings()


def test_the_ttl_counts_days_from_when_the_reject_was_stored() -> None:
    assert reject_bytes_ttl(30) == "toDateTime(rejected_at) + toIntervalDay(30)"
