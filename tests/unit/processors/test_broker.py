"""The Tansu-only workarounds apply to the embedded broker only (processors/broker.py)."""

from __future__ import annotations

import logging

from battrace.settings import Settings
from processors import broker
from processors.runtime import tuning


def test_no_external_kafka_or_a_launcher_that_started_tansu_means_tansu() -> None:
    assert broker.embedded_tansu(Settings(kafka=""), environ={})
    assert broker.embedded_tansu(Settings(kafka="127.0.0.1:4567"), environ={broker.BROKER_ENV: broker.TANSU})
    assert not broker.embedded_tansu(Settings(kafka="kafka-1:9092"), environ={})


def test_faust_checks_its_recovery_and_keeps_its_fetch_wait_on_kafka() -> None:
    settings = Settings(batch_seconds=0.2)
    assert broker.faust_options(tansu=True) == {"recovery_consistency_check": False}
    assert broker.faust_options(tansu=False) == {}
    assert broker.fetch_max_wait_ms(settings, tansu=True) == 200
    assert broker.fetch_max_wait_ms(settings, tansu=False) is None


def test_the_worker_log_level_reads_faust_s_spelling() -> None:
    assert tuning.worker_log_level({}) == logging.WARNING
    assert tuning.worker_log_level({tuning.LOGLEVEL_ENV: "warn"}) == logging.WARNING
    assert tuning.worker_log_level({tuning.LOGLEVEL_ENV: "info"}) == logging.INFO
    assert tuning.worker_log_level({tuning.LOGLEVEL_ENV: "nonsense"}) == logging.WARNING


def test_group_timeouts_default_to_the_broker_and_the_settings_win() -> None:
    on_tansu = broker.group_timeouts(Settings(), tansu=True)
    on_kafka = broker.group_timeouts(Settings(), tansu=False)
    assert (on_tansu.session_s, on_tansu.rebalance_s) == (3.0, 6.0)
    # Apache Kafka refuses sessions under group.min.session.timeout.ms (6 s by default)
    assert on_kafka.session_s >= 6.0 and on_kafka.rebalance_s > on_kafka.session_s
    chosen = broker.group_timeouts(Settings(session_timeout_s=7, rebalance_timeout_s=30), tansu=True)
    assert (chosen.session_s, chosen.rebalance_s, chosen.heartbeat_s) == (7, 30, 1.0)
    # a session set alone keeps the rebalance timeout above it (a crashed member leaves during the next join)
    assert broker.group_timeouts(Settings(session_timeout_s=12), tansu=True).rebalance_s == 24
