"""The pipeline on ClickHouse server and a Kafka in containers (testcontainers), where a Docker engine answers.

`make test-docker` selects these (marker ``docker``); elsewhere they skip with the reason. They use the embedded
suite's assertions (embedded.assert_sealed_once_and_verified) and add what only a server allows: two workers
sharing the partitions and one of them killed with SIGKILL mid-stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from embedded import Stack, assert_sealed_once_and_verified

from battrace.settings import Settings
from streams.kafka import ensure_topics
from streams.simulator import simulate

pytestmark = pytest.mark.docker

KAFKA_IMAGE = "confluentinc/cp-kafka:7.7.1"
CLICKHOUSE_IMAGE = "clickhouse/clickhouse-server:25.8"


def docker_unavailable() -> str | None:
    """Why no container can start here (one line), or None when a Docker engine answers."""
    try:
        from testcontainers.core.docker_client import DockerClient

        DockerClient().client.ping()
    except Exception as exc:  # any failure to reach the engine means: skip, saying why
        return f"no Docker engine answers ({type(exc).__name__}): `make test-docker` needs one (DOCKER_HOST)"
    return None


@pytest.fixture
def server_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    reason = docker_unavailable()
    if reason:
        pytest.skip(reason)
    from testcontainers.community.clickhouse import ClickHouseContainer
    from testcontainers.community.kafka import KafkaContainer

    with KafkaContainer(KAFKA_IMAGE).with_kraft() as kafka, ClickHouseContainer(CLICKHOUSE_IMAGE) as clickhouse:
        host, port = clickhouse.get_container_host_ip(), clickhouse.get_exposed_port(8123)
        dsn = f"http://{clickhouse.username}:{clickhouse.password}@{host}:{port}"
        bootstrap = kafka.get_bootstrap_server()
        # the CLI children of Stack.sql and verify_all read their settings from the environment
        monkeypatch.setenv("BATTRACE_CLICKHOUSE", dsn)
        monkeypatch.setenv("BATTRACE_KAFKA", bootstrap)
        settings = Settings(home=tmp_path, partitions=2, batch_seconds=0.2)
        ensure_topics(bootstrap, settings.partitions)
        yield Stack(settings, bootstrap)


def test_the_pipeline_on_a_clickhouse_server_seals_everything_once(server_stack: Stack) -> None:
    events = list(simulate(3000, seed=53, invalid_share=0.03))
    published = server_stack.publish(events)
    server_stack.process(reports_of=events)
    assert_sealed_once_and_verified(server_stack, events, published)


class _Killed(Exception):
    pass


def test_two_workers_share_the_partitions_and_one_killed_loses_nothing(server_stack: Stack) -> None:
    events = list(simulate(8000, seed=59, invalid_share=0.03))
    published = server_stack.publish(events)

    def third_done(done: int, total: int) -> None:
        if done > total // 3:
            raise _Killed

    with server_stack.worker("worker-a") as first, server_stack.worker("worker-b") as second:
        with pytest.raises(_Killed):
            server_stack.caught_up(first, on_progress=third_done)
        first.kill()  # its partitions move to the other worker, which goes on from their committed offsets
        server_stack.settle(second)
    assert_sealed_once_and_verified(server_stack, events, published)
