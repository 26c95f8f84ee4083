"""The topics as Apache Kafka holds them: the settings of streams/topics.py are the broker's, not just requests.

Runs under `make test-kafka` (BATTRACE_BROKER=kafka); Tansu stores topic settings without acting on them."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource
from embedded import Stack

from streams import topics


def _configs(bootstrap: str, names: list[str]) -> dict[str, dict[str, str]]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in names]
    return {
        r.name: {k: entry.value for k, entry in future.result(30).items()}
        for r, future in admin.describe_configs(resources).items()
    }


def test_kafka_keeps_each_topic_as_streams_topics_says(stack: Stack) -> None:
    if stack.tansu:
        pytest.skip("Tansu stores topic settings without acting on them (make test-kafka)")
    held = _configs(stack.bootstrap, [t.name for t in topics.ALL])
    for spec in topics.ALL:
        for key, value in spec.config.items():
            assert held[spec.name][key] == value, (spec.name, key)
    assert held[topics.REGISTRY.name]["cleanup.policy"] == "compact"
    assert held[topics.EVENT_IDS.name]["retention.ms"] == "-1"  # the dedup changelog never expires
    for source in (topics.MES, topics.LOGISTICS, topics.ASSAY, topics.REPORTS):
        assert held[source.name]["message.timestamp.type"] == "LogAppendTime"
    # what no spec sets is the broker's default: a week of retention, deletion rather than compaction
    assert held[topics.CHAIN.name]["cleanup.policy"] == "delete"
