"""`battrace topics` on a real broker: creates what streams/topics.py lists, once, and shows it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from embedded import broker_for_tests

from battrace.settings import Settings
from streams.kafka import topic_partitions
from streams.topics import ALL


def _topics(home: Path, bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATTRACE_HOME": str(home), "BATTRACE_KAFKA": bootstrap, "BATTRACE_PARTITIONS": "3"}
    return subprocess.run(
        [sys.executable, "-m", "battrace", "topics", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_create_makes_every_topic_once_with_its_partitions_and_show_lists_them(tmp_path: Path) -> None:
    with broker_for_tests(Settings(home=tmp_path), tmp_path / "broker") as broker:
        first = _topics(tmp_path, broker.bootstrap, "create", "--json")
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout) == {"created": [t.name for t in ALL], "present": []}
        on_broker = topic_partitions(broker.bootstrap)
        assert {t.name: on_broker[t.name] for t in ALL} == {t.name: 3 for t in ALL}
        again = _topics(tmp_path, broker.bootstrap, "create", "--json")
        assert json.loads(again.stdout) == {"created": [], "present": [t.name for t in ALL]}
        shown = [json.loads(line) for line in _topics(tmp_path, broker.bootstrap, "show", "--json").stdout.splitlines()]
        assert [(t["topic"], t["partitions"]) for t in shown] == [(t.name, 3) for t in ALL]
        registry = next(t for t in shown if t["topic"] == "registry.entities")
        assert registry["config"]["cleanup.policy"] == "compact"


def test_without_a_kafka_named_it_says_which_setting_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BATTRACE_KAFKA"}
    result = subprocess.run(
        [sys.executable, "-m", "battrace", "topics", "create"],
        env={**env, "BATTRACE_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "BATTRACE_KAFKA" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
