"""Lag per stage and topic from end offsets and a group's commits."""

from __future__ import annotations

from battrace.settings import Settings
from processors.consumer_lag import stage_groups, topic_lags
from processors.metrics import TopicLag


def test_the_stages_are_the_worker_s_groups_and_their_topics() -> None:
    stages = stage_groups(Settings(app_id="bt"))
    assert {stage: group for stage, (group, _) in stages.items()} == {
        "ingest": "bt-ingest",
        "seal": "bt",
        "rejects": "bt-rejects",
        "reports": "bt-reports",
    }
    assert stages["seal"][1] == ["trace.chain"] and "mes.events" in stages["ingest"][1]


def test_lag_sums_partitions_counts_no_commit_as_zero_and_caps_a_commit_at_the_end() -> None:
    stages = {"ingest": ("g-in", ["a", "b"]), "seal": ("g", ["c"])}
    ends = {("a", 0): 10, ("a", 1): 5, ("b", 0): 0, ("c", 0): 8, ("c", 1): 4}
    commits = {"g-in": {("a", 0): 10, ("a", 1): -1, ("b", 0): -1}, "g": {("c", 0): 3, ("c", 1): 6}}
    asked: dict[str, list[tuple[str, int]]] = {}

    def committed(group: str, tps: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        asked[group] = sorted(tps)
        return {tp: commits[group][tp] for tp in tps}

    lags = topic_lags(stages, ends, committed)
    assert asked == {"g-in": [("a", 0), ("a", 1), ("b", 0)], "g": [("c", 0), ("c", 1)]}
    assert lags == [
        TopicLag("ingest", "g-in", "a", committed=10, end=15),
        TopicLag("ingest", "g-in", "b", committed=0, end=0),
        TopicLag("seal", "g", "c", committed=3 + 4, end=12),  # partition 1's commit past its end counts as the end
    ]
    assert [row.lag for row in lags] == [5, 0, 5]
