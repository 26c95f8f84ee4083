"""A killed consumer's successor joins its group as the killed member (processors/predecessors.py), on the real
broker (Tansu, and Apache Kafka under `make test-kafka`): the member id it ends up with is the dead one's, and the
dead process's note is gone."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from embedded import broker_for_tests

from battrace.settings import Settings
from processors.group_consumer import group_consumer, member_id
from processors.predecessors import Succession, members_dir
from streams.kafka import ensure_topics
from streams.topics import REJECTS

GROUP = "takeover-test"

_MEMBER = """
import asyncio, sys
from battrace.settings import Settings
from processors.group_consumer import group_consumer, member_id
from processors.predecessors import Succession

async def main():
    settings = Settings()
    succession = Succession(settings, sys.argv[1])
    await succession.before_join()
    consumer = group_consumer(settings, sys.argv[1], sys.argv[2])
    await consumer.start()
    while not consumer.assignment():
        await consumer.getmany(timeout_ms=200)
    succession.joined(member_id(consumer))
    print(member_id(consumer), flush=True)
    await asyncio.sleep(600)  # killed by the test, without leaving the group

asyncio.run(main())
"""


async def _join_as_successor(settings: Settings) -> str:
    succession = Succession(settings, GROUP)
    await succession.before_join()
    consumer = group_consumer(settings, GROUP, REJECTS.name)
    await consumer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=200)
        succession.joined(member_id(consumer))
        return member_id(consumer)
    finally:
        await consumer.stop()


def test_the_successor_of_a_killed_member_joins_as_that_member(tmp_path: Path) -> None:
    with broker_for_tests(Settings(home=tmp_path, partitions=1), tmp_path / "broker") as broker:
        settings = Settings(home=tmp_path, kafka=broker.bootstrap, partitions=1)
        ensure_topics(broker.bootstrap, settings.partitions)
        env = {**os.environ, "BATTRACE_HOME": str(tmp_path), "BATTRACE_KAFKA": broker.bootstrap}
        first = subprocess.Popen(
            [sys.executable, "-c", _MEMBER, GROUP, REJECTS.name], env=env, stdout=subprocess.PIPE, text=True
        )
        try:
            killed = first.stdout.readline().strip()  # type: ignore[union-attr]
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        assert killed
        notes = list(members_dir(settings).glob(f"{GROUP}.*.json"))
        assert [json.loads(p.read_text())["member_id"] for p in notes] == [killed]

        successor = asyncio.run(_join_as_successor(settings))

        assert successor == killed
        notes = list(members_dir(settings).glob(f"{GROUP}.*.json"))
        assert [p.name for p in notes] == [f"{GROUP}.{os.getpid()}.json"]  # the dead one's note is gone
