"""Which broker the worker talks to, and the workarounds that only the embedded Tansu broker needs.

Every Tansu-only setting of the worker is decided here, so a worker on a real Kafka cluster runs faust as shipped:
``embedded_tansu`` is the one decision, ``faust_options`` and ``fetch_max_wait_ms`` what follows from it.

The group timeouts are settings of their own, read by the plain consumers of ingest, rejects and reports too
(processors/group_consumer.py); only their defaults follow the broker (``group_timeouts``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from battrace.settings import Settings

# battrace/stack/worker.py always hands the worker the address it should use as BATTRACE_KAFKA, the embedded broker's
# included (a free port chosen at start), so an empty ``settings.kafka`` no longer tells the embedded broker apart
# in the worker: the launcher says so in this variable ("tansu") when its own settings named no external Kafka.
BROKER_ENV = "BATTRACE_WORKER_BROKER"
TANSU = "tansu"


def embedded_tansu(settings: Settings, environ: Mapping[str, str] = os.environ) -> bool:
    """True when the worker's broker is the embedded Tansu: no external Kafka configured (``settings.kafka``
    empty), or a launcher that started Tansu said so (BROKER_ENV)."""
    return not settings.kafka or environ.get(BROKER_ENV) == TANSU


def faust_options(tansu: bool) -> dict[str, Any]:
    """faust App options that work around Tansu; none on Kafka."""
    if not tansu:
        return {}
    # Tansu reports a partition's high watermark short of its last record batch's tail (see battrace/stack/worker),
    # so on restart a RocksDB table's persisted changelog offset looks ahead of the topic and faust's consistency
    # check refuses to start (ConsistencyError "persisted offset ... is higher than the last offset").
    return {"recovery_consistency_check": False}


def fetch_max_wait_ms(settings: Settings, tansu: bool) -> int | None:
    """How long the broker may hold an empty fetch of the worker's consumer (processors/runtime/faust_patches.py:
    Tansu holds it for the whole wait even when records arrive meanwhile); None: faust's own, on Kafka, which
    answers as soon as records arrive."""
    return round(settings.batch_seconds * 1000) if tansu else None


@dataclass(frozen=True)
class GroupTimeouts:
    session_s: float
    rebalance_s: float

    @property
    def heartbeat_s(self) -> float:
        return min(1.0, self.session_s / 3)


def group_timeouts(settings: Settings, tansu: bool) -> GroupTimeouts:
    """The consumer groups' session and rebalance timeouts: the settings, else the broker's defaults.

    A crashed worker must leave its group while its successor joins (session < rebalance timeout), and the sooner
    it leaves, the sooner sealing resumes. Tansu holds every JoinGroup that names a member for half the session
    timeout, in whole seconds (2 s at a 3 s session), and drops a dead member only when its session expires: 3 s and
    6 s keep a restart short. A 2 s session would halve the hold, at the price of dropping a member whose heartbeats
    stall for 2 s on two busy cores. Apache Kafka refuses a session timeout under ``group.min.session.timeout.ms``
    (6 s by default) and drops a dead member when its session expires too: 10 s and 20 s, within every default
    cluster's limits.
    """
    session = settings.session_timeout_s or (3.0 if tansu else 10.0)
    rebalance = settings.rebalance_timeout_s or max(2 * session, 6.0 if tansu else 20.0)
    return GroupTimeouts(session, rebalance)
