"""BATTRACE_LOG_FORMAT=json: one JSON object a line with time, level, logger, message and extra fields; secrets
masked; plain text keeps each process's own format."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator
from datetime import datetime

import pytest

from battrace.log_format import REDACTED, RedactSecrets, json_formatter, log_level, logging_config


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own with the JSON formatter and the secrets filter on a handler that writes to a buffer."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(json_formatter())
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("battrace.test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, out
    finally:
        logger.removeHandler(handler)


def records(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_one_object_a_line_with_the_named_fields_and_extras(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = logged
    logger.info("stored %d rows", 12, extra={"log_id": "battrace.example/log/0", "rows": 12})
    logger.warning("second line")
    first, second = records(out)
    assert {k: first[k] for k in ("level", "logger", "message", "log_id", "rows")} == {
        "level": "INFO",
        "logger": "battrace.test.json",
        "message": "stored 12 rows",
        "log_id": "battrace.example/log/0",
        "rows": 12,
    }
    assert datetime.fromisoformat(first["time"]).utcoffset().total_seconds() == 0  # ISO 8601, UTC
    assert second["level"] == "WARNING" and second["message"] == "second line"


def test_an_exception_s_traceback_stays_inside_its_line(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = logged
    try:
        raise ValueError("broken batch")
    except ValueError:
        logger.exception("sealing failed")
    (record,) = records(out)
    assert record["message"] == "sealing failed" and "ValueError: broken batch" in record["exc_info"]


def test_signing_keys_tokens_and_secret_fields_never_reach_the_line(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = logged
    key = "PRIVATE+KEY+battrace.example/log+aef5d622+AZ0a9bQwfRSyFdxSWWWTQwZ2GbGv5M3PxnhI0e2Wl8XA"
    logger.info("loaded %s", key, extra={"signing_key": key, "api_token": "t0k3n", "log_id": "kept"})
    logger.info("header Authorization: Bearer abc.def-ghi")
    first, second = records(out)
    assert "PRIVATE+KEY" not in out.getvalue() and "t0k3n" not in out.getvalue() and "abc.def" not in out.getvalue()
    assert first["message"] == f"loaded {REDACTED}"
    assert first["signing_key"] == first["api_token"] == REDACTED and first["log_id"] == "kept"
    assert second["message"] == f"header Authorization: {REDACTED}"


def test_text_keeps_each_process_s_own_format_and_json_is_a_dict_config() -> None:
    assert logging_config("text") is None
    config = logging_config("json", "INFO")
    assert config is not None and config["root"] == {"level": "INFO", "handlers": ["json"]}
    assert config["handlers"]["json"]["filters"] == ["secrets"]
    assert logging_config("json") is not config  # dictConfig consumes its factories: a fresh one each call


def test_worker_log_levels_as_logging_names_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BATTRACE_WORKER_LOGLEVEL", raising=False)
    assert log_level() == "WARNING"
    assert log_level("info") == "INFO"
    monkeypatch.setenv("BATTRACE_WORKER_LOGLEVEL", "debug")
    assert log_level() == "DEBUG"
