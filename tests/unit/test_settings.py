"""Settings shown to people never carry a secret."""

from __future__ import annotations

from pathlib import Path

from battrace.settings import Settings


def test_a_clickhouse_password_is_masked_wherever_the_dsn_is_shown() -> None:
    shown = Settings(clickhouse="https://battrace:s3cr%40t@ch.example:8443/battrace").clickhouse_shown
    assert shown == "https://battrace:***@ch.example:8443/battrace"
    assert "s3cr" not in shown
    assert Settings(clickhouse="http://ch:8123").clickhouse_shown == "http://ch:8123"


def test_the_embedded_store_is_shown_as_its_path(tmp_path: Path) -> None:
    assert Settings(home=tmp_path).clickhouse_shown == f"chdb:///{(tmp_path / 'clickhouse').resolve()}"
