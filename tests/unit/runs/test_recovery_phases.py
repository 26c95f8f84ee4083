"""recovery_phases: the moments a restarted worker reached, as seconds after the kill, in the order a start-up takes
them; a step that was not reached is left out rather than shown as zero."""

from __future__ import annotations

from battrace.runs.recovery_phases import INGESTED, PHASES, SEALED, SPAWNED, recovery_phases
from processors.metrics import BUILT, FIRST_BATCH_STORED, LOGS_FOLLOWED, SEAL_ASSIGNED, STARTUP_STEPS


def test_phases_are_seconds_after_the_kill_in_start_up_order() -> None:
    moments = {LOGS_FOLLOWED: 1009.0, SEALED: 1006.25, SPAWNED: 1000.5, BUILT: 1002.0, INGESTED: 1005.0}
    moments |= {SEAL_ASSIGNED: 1004.0, FIRST_BATCH_STORED: 1006.0, "table_recovered": None}
    phases = recovery_phases(1000.0, moments)
    assert list(phases.items()) == [
        (SPAWNED, 0.5),
        (BUILT, 2.0),
        (SEAL_ASSIGNED, 4.0),
        (INGESTED, 5.0),
        (FIRST_BATCH_STORED, 6.0),
        (SEALED, 6.25),
        (LOGS_FOLLOWED, 9.0),
    ]


def test_every_startup_step_of_the_worker_is_a_phase() -> None:
    assert set(STARTUP_STEPS) <= set(PHASES) and len(PHASES) == len(set(PHASES))
