"""Schema Registry basic auth: BATTRACE_SCHEMA_REGISTRY_USER/PASSWORD -> confluent-kafka's basic.auth.user.info,
for ingest's reader (schemas/registry.py) and the producers' serializers (streams/producer.py)."""

from __future__ import annotations

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from pydantic import ValidationError

from battrace.settings import Settings
from schemas.registry import Registry, registry_config

PASSWORD = "registry-pw-3a8b"


def with_auth(**more: object) -> Settings:
    return Settings(schema_registry_user="ingest", schema_registry_password=PASSWORD, **more)


def test_no_user_sends_no_credentials() -> None:
    config = registry_config("http://registry:8081", Settings(), timeout=5)
    assert config == {"url": "http://registry:8081", "timeout": 5}
    assert SchemaRegistryClient(config)._rest_client.auth is None


def test_the_settings_become_the_clients_basic_auth() -> None:
    config = registry_config("http://registry:8081", with_auth())
    assert config["basic.auth.user.info"] == f"ingest:{PASSWORD}"
    assert SchemaRegistryClient(config)._rest_client.auth == ("ingest", PASSWORD)
    assert Registry("http://registry:8081", settings=with_auth()).client._rest_client.auth == ("ingest", PASSWORD)


def test_credentials_in_the_url_keep_working_and_the_settings_win_over_them() -> None:
    url = "https://old:url-pw@registry.example:8081"
    assert SchemaRegistryClient(registry_config(url, Settings()))._rest_client.auth == ("old", "url-pw")
    config = registry_config(url, with_auth())
    assert config["url"] == "https://registry.example:8081"  # the client refuses both at once
    assert SchemaRegistryClient(config)._rest_client.auth == ("ingest", PASSWORD)


def test_messages_show_the_registry_without_its_password() -> None:
    registry = Registry("https://old:url-pw@registry.example:8081", settings=Settings())
    assert registry.url == "https://old:***@registry.example:8081"


@pytest.mark.parametrize(
    "values", [{"schema_registry_user": "ingest"}, {"schema_registry_password": PASSWORD}], ids=["user", "password"]
)
def test_half_the_credentials_is_refused(values: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="BATTRACE_SCHEMA_REGISTRY_USER and BATTRACE_SCHEMA_REGISTRY_PASSWORD"):
        Settings(**values)
