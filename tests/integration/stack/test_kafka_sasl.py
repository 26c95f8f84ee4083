"""On an Apache Kafka that requires SASL (SASL_PLAINTEXT, PLAIN): every client of the pipeline logs in with the
BATTRACE_KAFKA_SASL_* settings, and wrong ones are one line naming them.

The broker is started here with a SASL listener whatever BATTRACE_BROKER says (Tansu has no SASL); it needs Java 17+
and, until its jars are cached, Maven. The settings reach this process through the environment, as they reach a user's
commands, and the worker through the environment its launcher builds from the settings.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from embedded import Stack, verify_all
from published import PUBLISHED, REJECTED_PUBLISHED

from battrace.settings import Settings, get_settings
from battrace.stack.apache_kafka import ApacheKafkaBroker, default_cache_dir, unavailable_reason
from streams.kafka import ensure_topics
from streams.simulator import simulate

USER = "battrace-sources"
PASSWORD = "sasl-pw-5f0c2e9d7a"  # distinctive: it must appear in no output or log

_UNAVAILABLE = unavailable_reason(Settings().broker_cache or default_cache_dir())
pytestmark = pytest.mark.skipif(_UNAVAILABLE is not None, reason=f"needs Apache Kafka: {_UNAVAILABLE}")


def sasl_environment(bootstrap: str, password: str = PASSWORD) -> dict[str, str]:
    return {
        "BATTRACE_KAFKA": bootstrap,
        "BATTRACE_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "BATTRACE_KAFKA_SASL_MECHANISM": "PLAIN",
        "BATTRACE_KAFKA_SASL_USERNAME": USER,
        "BATTRACE_KAFKA_SASL_PASSWORD": password,
    }


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafkaBroker]:
    with ApacheKafkaBroker(tmp_path_factory.mktemp("sasl") / "broker", sasl_users={USER: PASSWORD}) as broker:
        yield broker


@pytest.fixture
def sasl_settings(sasl_broker: ApacheKafkaBroker, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's settings name the broker and its SASL login (the helpers read them from the environment)."""
    for name, value in sasl_environment(sasl_broker.bootstrap).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def topics_show(home: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    environment = {**os.environ, "BATTRACE_HOME": str(home), **env}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "battrace", "topics", "show", "--json"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, time.monotonic() - started


@pytest.mark.usefixtures("sasl_settings")
def test_the_pipeline_seals_and_verifies_on_a_kafka_that_requires_sasl(
    tmp_path: Path, sasl_broker: ApacheKafkaBroker
) -> None:
    settings = Settings(home=tmp_path, partitions=2, batch_seconds=0.2)
    assert settings.kafka_sasl and settings.kafka == sasl_broker.bootstrap
    ensure_topics(sasl_broker.bootstrap, settings.partitions)
    stack = Stack(settings, sasl_broker.bootstrap, sasl_broker)
    events = list(simulate(500, seed=41, invalid_share=0.03))
    published = stack.publish(events)
    stack.process(reports_of=events)

    sealed = stack.sql(f"SELECT count(DISTINCT event_id) FROM battrace.sealed FINAL WHERE {PUBLISHED}")[0][0]
    rejected = stack.sql(REJECTED_PUBLISHED)[0][0]
    assert published == len(events)
    assert sealed > 0 and rejected > 0
    assert published == sealed + rejected
    code, report = verify_all(tmp_path)
    assert code == 0 and report["ok"], report["failures"][:5]
    assert PASSWORD not in (tmp_path / "worker.log").read_text(errors="replace")


def test_wrong_sasl_credentials_are_one_line_naming_the_settings_not_a_hang(
    tmp_path: Path, sasl_broker: ApacheKafkaBroker
) -> None:
    right, _ = topics_show(tmp_path, **sasl_environment(sasl_broker.bootstrap))
    assert right.returncode == 0, right.stderr
    assert '"topic"' in right.stdout and PASSWORD not in right.stdout + right.stderr

    wrong, took = topics_show(tmp_path, **sasl_environment(sasl_broker.bootstrap, password="not-the-password"))
    assert wrong.returncode == 2
    lines = wrong.stderr.strip().splitlines()
    assert len(lines) == 1, wrong.stderr
    assert "BATTRACE_KAFKA_SASL_USERNAME/PASSWORD" in lines[0] and "refused the login" in lines[0]
    assert "Traceback" not in wrong.stderr and "not-the-password" not in wrong.stderr + wrong.stdout
    assert took < 8, f"took {took:.1f} s"  # named from the broker's refusal, not after the probe's whole timeout


def test_a_client_without_credentials_is_not_let_in(tmp_path: Path, sasl_broker: ApacheKafkaBroker) -> None:
    """The broker really requires SASL: the same command in PLAINTEXT does not get the topics."""
    plain, _ = topics_show(tmp_path, BATTRACE_KAFKA=sasl_broker.bootstrap, BATTRACE_KAFKA_SECURITY_PROTOCOL="PLAINTEXT")
    assert plain.returncode == 2
    assert "cannot reach Kafka" in plain.stderr and len(plain.stderr.strip().splitlines()) == 1
