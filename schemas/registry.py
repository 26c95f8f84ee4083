"""The Confluent Schema Registry, through confluent-kafka's own client: writer schemas by id and by subject.

The client caches what it fetched by id and by (subject, version), so each writer schema crosses the network once.
Two failures are told apart because they end differently: a schema the registry does not have is the message's fault
(the message is rejected with ``unknown_schema``); a registry that does not answer is nobody's verdict on the message
(ingest stops without committing, and the batch is read again once the registry is back).

confluent-kafka's registry client is imported only when a Registry is made: it brings an HTTP and OAuth stack that
took 0.7 s of every worker and ingest process's start-up, and most runs read their schemas from files.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from battrace.settings import Settings, get_settings, shown_url

NOT_FOUND = 404
CONFLICT = 409  # incompatible with the subject's versions
UNPROCESSABLE = 422  # not a valid schema


class SchemaNotFound(LookupError):
    """The registry answered: it has no such schema id or subject."""


class SchemaRefused(ValueError):
    """The registry answered: the schema is incompatible with what the subject holds (HTTP 409) or invalid (422)."""


class RegistryUnavailable(RuntimeError):
    """The registry did not answer (or answered with an error that is not about the schema asked for)."""


def value_subject(topic: str) -> str:
    """The subject a topic's values are registered under (Confluent's default TopicNameStrategy)."""
    return f"{topic}-value"


def registry_config(url: str, settings: Settings | None = None, **options: Any) -> dict[str, Any]:
    """SchemaRegistryClient configuration: the URL, basic auth from BATTRACE_SCHEMA_REGISTRY_USER/PASSWORD
    (``settings``, default the environment's), then ``options``.

    The settings win over a ``user:password@`` in the URL: the client refuses both at once, so the URL's are dropped
    when the settings name a user."""
    settings = settings or get_settings()
    config: dict[str, Any] = {"url": url, **options}
    if settings.schema_registry_user:
        parts = urlsplit(url)
        config["url"] = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        password = settings.schema_registry_password.get_secret_value()
        config["basic.auth.user.info"] = f"{settings.schema_registry_user}:{password}"
    return config


class Registry:
    """Writer schemas from one registry, parsed from the JSON the registry stores."""

    def __init__(self, url: str, timeout_s: float = 5.0, settings: Settings | None = None) -> None:
        from confluent_kafka.schema_registry import SchemaRegistryClient  # imported here: see the module docstring

        self.url = shown_url(url)  # as messages show it: a password in the URL is masked
        self.client = SchemaRegistryClient(registry_config(url, settings, timeout=timeout_s))

    def schema(self, schema_id: int) -> dict[str, Any]:
        """The writer schema registered under a global id."""
        return self._call(lambda: json.loads(self.client.get_schema(schema_id).schema_str), f"schema id {schema_id}")

    def versions(self, subject: str) -> list[int]:
        """The versions registered under a subject; none when the registry has not heard of it."""
        try:
            return self._call(lambda: list(self.client.get_versions(subject)), f"subject {subject}")
        except SchemaNotFound:
            return []

    def version(self, subject: str, version: int) -> tuple[int, dict[str, Any]]:
        """(global id, writer schema) of one version of a subject."""
        registered = self._call(lambda: self.client.get_version(subject, version), f"{subject} version {version}")
        return registered.schema_id, json.loads(registered.schema.schema_str)

    def register(self, subject: str, schema: dict[str, Any]) -> int:
        """Register an Avro schema under a subject (the registry checks it against the subject's compatibility
        level); the global id, the same for a schema it already holds."""
        from confluent_kafka.schema_registry import Schema, SchemaRegistryError

        text = json.dumps(schema, separators=(",", ":"))

        def register() -> int:
            try:
                return self.client.register_schema(subject, Schema(text, "AVRO"))
            except SchemaRegistryError as exc:
                if exc.http_status_code in (CONFLICT, UNPROCESSABLE):
                    raise SchemaRefused(f"the registry refused it: {exc.error_message}") from exc
                raise

        return self._call(register, f"subject {subject}")

    def _call(self, fn: Any, what: str) -> Any:
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        try:
            return fn()
        except SchemaRefused:
            raise
        except SchemaRegistryError as exc:
            if exc.http_status_code == NOT_FOUND:
                raise SchemaNotFound(f"the registry at {self.url} has no {what}") from exc
            raise RegistryUnavailable(f"the registry at {self.url} failed on {what}: {exc}") from exc
        except Exception as exc:  # refused, timed out, not JSON: whatever the HTTP stack raises, the registry is away
            raise RegistryUnavailable(f"the registry at {self.url} did not answer for {what}: {exc}") from exc
