"""docker-compose.yml is a valid Compose file and agrees with the code: listeners, topics, settings, volumes, health.

No Docker engine runs here, so the file is checked by reading it: against the Compose Specification's JSON schema
(tests/support/data/README.md says where it comes from) and against what battrace itself defines.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from battrace.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"
SPEC = ROOT / "tests" / "support" / "data" / "compose-spec.json"
ONE_SHOT = {"topics", "schemas"}  # jobs that run once and exit


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _env(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def _default(value: str) -> str:
    """``${NAME:-default}`` -> default; anything else unchanged."""
    found = re.fullmatch(r"\$\{[A-Z_]+:-(.*)\}", value)
    return found.group(1) if found else value


def test_the_file_validates_against_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(SPEC.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=str)
    assert errors == [], [e.message for e in errors[:5]]


def test_a_broken_file_fails_the_same_validation() -> None:
    schema = json.loads(SPEC.read_text())
    broken = {"services": {"kafka": {"image": "apache/kafka:4.1.1", "depends_on": {"x": {"condition": "healthy"}}}}}
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_kafka_answers_the_host_on_localhost_and_the_services_on_the_compose_network(compose: dict[str, Any]) -> None:
    kafka = _env(compose["services"]["kafka"])
    listeners = dict(item.split("://") for item in kafka["KAFKA_ADVERTISED_LISTENERS"].split(","))
    assert listeners["EXTERNAL"] == "localhost:9092"
    assert "9092:9092" in compose["services"]["kafka"]["ports"]
    protocols = dict(item.split(":") for item in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert {item.split("://")[0] for item in kafka["KAFKA_LISTENERS"].split(",")} <= set(protocols)
    for name, service in compose["services"].items():
        bootstrap = _env(service).get("BATTRACE_KAFKA")
        if bootstrap is not None:
            assert bootstrap == listeners["INTERNAL"], name
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"  # else the first producer makes 1-partition topics


def test_a_one_shot_job_creates_the_topics_before_any_worker_starts(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["topics"]["command"] == ["battrace", "topics", "create"]
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services["processors"]["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    partitions = _default(_env(services["topics"])["BATTRACE_PARTITIONS"])
    assert int(partitions) == Settings().partitions
    assert _env(services["topics"])["BATTRACE_PARTITIONS"] == _env(services["processors"])["BATTRACE_PARTITIONS"]


def test_a_one_shot_job_registers_the_contracts_before_any_worker_starts(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["schemas"]["command"] == ["battrace", "schemas", "register"]
    assert services["schemas"]["depends_on"]["schema-registry"]["condition"] == "service_healthy"
    assert services["processors"]["depends_on"]["schemas"]["condition"] == "service_completed_successfully"
    registry = _env(services["processors"])["BATTRACE_SCHEMA_REGISTRY_URL"]
    assert registry == "http://schema-registry:8081"
    assert _env(services["schemas"])["BATTRACE_SCHEMA_REGISTRY_URL"] == registry


def test_every_battrace_variable_is_a_setting(compose: dict[str, Any]) -> None:
    fields = {f"BATTRACE_{name.upper()}" for name in Settings.model_fields}
    named = {k for service in compose["services"].values() for k in _env(service) if k.startswith("BATTRACE_")}
    assert named - fields == set(), "not settings: typos would be ignored silently"


def test_the_keys_and_state_live_on_a_volume_and_readers_mount_it_read_only(compose: dict[str, Any]) -> None:
    services = compose["services"]
    home = _env(services["processors"])["BATTRACE_HOME"]
    mounts = {m.split(":")[1]: m for m in services["processors"]["volumes"]}
    assert home in mounts and mounts[home].split(":")[0] in compose["volumes"]
    for reader in ("serve", "audit"):
        assert f"{mounts[home].split(':')[0]}:{home}:ro" in services[reader]["volumes"], reader
    assert services["processors"]["restart"] in {"unless-stopped", "always", "on-failure"}


def test_every_long_running_service_has_a_healthcheck_and_waits_for_what_it_needs(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        if name not in ONE_SHOT and name != "audit":  # the audit loop has nothing to answer with
            assert "healthcheck" in service, name
        for needed, condition in (service.get("depends_on") or {}).items():
            wanted = condition["condition"]
            assert wanted in {"service_healthy", "service_completed_successfully"}, (name, needed)
            assert (wanted == "service_completed_successfully") == (needed in ONE_SHOT), (name, needed)
            if wanted == "service_healthy":
                assert "healthcheck" in services[needed], needed


def test_the_worker_health_and_metrics_port_is_the_one_scraped(compose: dict[str, Any]) -> None:
    services = compose["services"]
    port = _env(services["processors"])["BATTRACE_METRICS_PORT"]
    assert f"127.0.0.1:{port}/healthz" in " ".join(services["processors"]["healthcheck"]["test"])
    prometheus = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in prometheus["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert targets == {f"processors:{port}", "serve:8000"}
    assert services["serve"]["command"][-2:] == ["--port", "8000"]


def test_files_mounted_from_the_repository_exist(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), (name, source)
        build = service.get("build")
        if build:
            assert (ROOT / build["context"] / build["dockerfile"]).exists(), name


def test_grafana_gets_the_provisioned_dashboards_and_the_clickhouse_credentials(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    provisioning = ROOT / "deploy" / "grafana" / "provisioning"
    provider = yaml.safe_load((provisioning / "dashboards" / "battrace.yaml").read_text())
    mounts = {m.split(":")[0]: m.split(":")[1] for m in grafana["volumes"]}
    assert mounts["./deploy/grafana/dashboards"] == provider["providers"][0]["options"]["path"]
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    source = yaml.safe_load((provisioning / "datasources" / "clickhouse.yaml").read_text())["datasources"][0]
    assert source["type"] in _env(grafana)["GF_INSTALL_PLUGINS"].split(",")
    named = {source["jsonData"]["username"], source["secureJsonData"]["password"]}
    assert {v.lstrip("$") for v in named} <= set(_env(grafana)), "credentials Grafana's environment does not hold"
    assert source["jsonData"]["host"] == "clickhouse" and "clickhouse" in compose["services"]
