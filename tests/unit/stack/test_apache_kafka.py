"""What the Apache Kafka launcher decides before it starts anything (battrace/stack/apache_kafka.py)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from battrace.settings import Settings
from battrace.stack import apache_kafka
from battrace.stack.local_broker import local_broker


@pytest.mark.parametrize(
    ("text", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_392"', 8),
        ("no version here", None),
    ],
)
def test_the_java_major_version_is_read_from_both_numbering_schemes(text: str, major: int | None) -> None:
    assert apache_kafka.parse_java_major(text) == major


def test_a_cluster_id_is_sixteen_bytes_in_url_safe_base64() -> None:
    cid = apache_kafka.cluster_id()
    assert len(cid) == 22 and "=" not in cid
    assert len(base64.urlsafe_b64decode(cid + "==")) == 16
    assert cid != apache_kafka.cluster_id()
    # one in 64 draws starts with "-", which the storage tool would take for an option
    assert not any(apache_kafka.cluster_id().startswith("-") for _ in range(2000))


def test_one_node_is_broker_and_controller_on_loopback_and_advertises_what_it_listens_on(tmp_path: Path) -> None:
    props = dict(
        line.split("=", 1) for line in apache_kafka.server_properties(9101, 9102, tmp_path / "data").splitlines()
    )
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9101,CONTROLLER://127.0.0.1:9102"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9101"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:9102"
    assert props["log.dirs"] == str(tmp_path / "data")
    assert props["offsets.topic.replication.factor"] == "1"  # one node: an internal topic of 3 replicas cannot exist


def test_without_java_apache_kafka_is_unavailable_with_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(apache_kafka.shutil, "which", lambda name: None)
    reason = apache_kafka.unavailable_reason(tmp_path)
    assert reason is not None and "Java 17+" in reason and "install a JDK" in reason
    with pytest.raises(apache_kafka.KafkaUnavailable, match="Java 17"):
        apache_kafka.fetch_jars(tmp_path)
    assert not any(tmp_path.iterdir())  # nothing fetched, nothing created


def test_asking_for_kafka_where_it_cannot_run_falls_back_to_tansu_and_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(apache_kafka.shutil, "which", lambda name: None)
    chosen = local_broker(Settings(home=tmp_path, broker="kafka", broker_cache=tmp_path / "cache"))
    assert chosen.broker.tansu and chosen.name == "Tansu"
    assert chosen.note is not None and "no `java`" in chosen.note and "Tansu" in chosen.note
    assert local_broker(Settings(home=tmp_path)).note is None


def test_the_default_broker_is_tansu(tmp_path: Path) -> None:
    assert local_broker(Settings(home=tmp_path)).broker.tansu


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def test_without_users_the_listener_is_plaintext_and_no_sasl_is_configured(tmp_path: Path) -> None:
    props = _props(apache_kafka.server_properties(9101, 9102, tmp_path))
    assert props["listener.security.protocol.map"] == "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
    assert not any(key.startswith("sasl.") or "jaas" in key for key in props)


def test_with_users_the_client_listener_requires_sasl_plain_with_those_users(tmp_path: Path) -> None:
    props = _props(apache_kafka.server_properties(9101, 9102, tmp_path, {"ingest": "pw-1", "audit": "pw-2"}))
    assert props["listeners"] == "SASL_PLAINTEXT://127.0.0.1:9101,CONTROLLER://127.0.0.1:9102"
    assert props["advertised.listeners"] == "SASL_PLAINTEXT://127.0.0.1:9101"
    assert props["listener.security.protocol.map"] == "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert props["sasl.enabled.mechanisms"] == "PLAIN" and props["sasl.mechanism.inter.broker.protocol"] == "PLAIN"
    # Kafka's documented form (docs "Configuring Kafka Brokers", SASL/PLAIN): the broker's own login, then the users
    assert props["listener.name.sasl_plaintext.plain.sasl.jaas.config"] == (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        'username="ingest" password="pw-1" user_ingest="pw-1" user_audit="pw-2";'
    )


@pytest.mark.parametrize("password", ['with"quote', "with\\backslash", "with\nnewline"])
def test_a_password_that_would_need_escaping_is_refused(password: str) -> None:
    with pytest.raises(ValueError, match="may not contain"):
        apache_kafka.plain_jaas_config({"ingest": password})


def test_clients_of_a_sasl_broker_log_in_as_its_first_user(tmp_path: Path) -> None:
    broker = apache_kafka.ApacheKafkaBroker(tmp_path, port=9101, sasl_users={"ingest": "pw-1"})
    settings = broker.client_settings(Settings(home=tmp_path))
    assert settings.kafka_security_protocol == "SASL_PLAINTEXT" and settings.kafka_sasl_mechanism == "PLAIN"
    assert settings.kafka_sasl_username == "ingest" and settings.kafka_sasl_password.get_secret_value() == "pw-1"
    plain = apache_kafka.ApacheKafkaBroker(tmp_path, port=9101).client_settings(settings)
    assert plain.kafka_security_protocol == "PLAINTEXT" and not plain.kafka_sasl_username
