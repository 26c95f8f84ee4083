"""Log records as one JSON object a line (``BATTRACE_LOG_FORMAT=json``), for the worker, its ingest process and serve.

Log shippers (Loki, Elasticsearch, CloudWatch) parse a JSON line without a per-service pattern, and a record's
extra fields (``log.info("...", extra={"log_id": ...})``) become fields of their own. The JSON encoding is
python-json-logger's; what is defined here is the field names (``time``, ``level``, ``logger``, ``message``) and a
filter that keeps secrets out of every record, whichever format is chosen. Plain text stays the default: each
process keeps its own text format then (faust's for the worker, uvicorn's for serve).
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from pythonjsonlogger.json import JsonFormatter

REDACTED = "[redacted]"
# Extra fields whose name says they hold a secret; their values never reach a log line.
SECRET_FIELD = re.compile(r"(?i)(secret|password|passwd|token|private|signing_key|authorization|api_key)")
# Secrets that could sit inside a message: a signing key (C2SP "PRIVATE+KEY+name+id+key") and a bearer token.
SECRET_TEXT = re.compile(r"PRIVATE\+KEY\+\S+|(?i:bearer)\s+[A-Za-z0-9._~+/=-]+")
FIELDS = {"levelname": "level", "name": "logger"}


class RedactSecrets(logging.Filter):
    """Masks signing keys and bearer tokens in messages and every extra field whose name says it is a secret.

    The message is formatted here (``getMessage``) so that a secret passed as an argument is masked too."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = SECRET_TEXT.sub(REDACTED, message)
        if masked != message:
            record.msg, record.args = masked, None
        for name in [n for n in vars(record) if n not in _STANDARD and SECRET_FIELD.search(n)]:
            setattr(record, name, REDACTED)
        return True


_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def json_formatter() -> logging.Formatter:
    """``{"level", "logger", "message", ...extra fields, "time": ISO 8601 in UTC}``; an exception's traceback goes
    in ``exc_info`` as text."""
    return JsonFormatter("{levelname}{name}{message}", style="{", rename_fields=FIELDS, timestamp="time")


def log_level(value: str | None = None) -> str:
    """The logging level of a worker process: ``value`` or BATTRACE_WORKER_LOGLEVEL (default warn), as the logging
    module names it (faust's command line says "warn")."""
    level = (value or os.environ.get("BATTRACE_WORKER_LOGLEVEL", "warn")).upper()
    return "WARNING" if level == "WARN" else level


def logging_config(log_format: str, level: str | int = "INFO") -> dict[str, Any] | None:
    """A ``logging.config.dictConfig`` dictionary that writes every record to stderr as JSON with secrets masked,
    for ``log_format`` "json"; None for "text" (the process keeps its own format)."""
    if log_format != "json":
        return None
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "json",
        "filters": ["secrets"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"secrets": {"()": RedactSecrets}},
        "formatters": {"json": {"()": json_formatter}},
        "handlers": {"json": handler},
        "root": {"level": level, "handlers": ["json"]},
    }
