"""Topic retention: what Kafka may delete after a week, what it compacts, and what it must keep forever."""

from __future__ import annotations

from streams import topics

WEEK_MS = str(7 * 24 * 3600 * 1000)


def test_the_dedup_state_is_kept_forever() -> None:
    assert topics.EVENT_IDS.config["retention.ms"] == "-1"
    assert topics.EVENT_IDS.config["retention.bytes"] == "-1"
    assert "cleanup.policy" not in topics.EVENT_IDS.config  # compaction would drop ids that share a key


def test_the_registry_is_compacted_not_time_limited() -> None:
    assert topics.REGISTRY.compacted and topics.REGISTRY.config["cleanup.policy"] == "compact"
    assert "retention.ms" not in topics.REGISTRY.config


def test_every_other_topic_keeps_a_week() -> None:
    kept_otherwise = {topics.EVENT_IDS.name, topics.REGISTRY.name}
    for spec in topics.ALL:
        if spec.name not in kept_otherwise:
            assert spec.config.get("retention.ms") == WEEK_MS, spec.name
