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
