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
