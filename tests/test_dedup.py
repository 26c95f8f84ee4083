"""Duplicate event ids vs. redelivered messages."""

from __future__ import annotations

from processors.dedup import Verdict, decide


def test_first_acceptance_is_remembered() -> None:
    d = decide(None, ("mes.events", 1, 40), (0, 7))
    assert d.verdict is Verdict.NEW and d.accepted_at == (0, 7)
    assert d.remember == {"source": ["mes.events", 1, 40], "accepted_at": [0, 7]}


def test_redelivery_keeps_the_first_coordinates() -> None:
    first = {"source": ["mes.events", 1, 40], "accepted_at": [0, 7]}
    d = decide(first, ("mes.events", 1, 40), (0, 912))
    assert d.verdict is Verdict.REDELIVERY and d.accepted_at == (0, 7) and d.remember is None


def test_resent_event_id_is_a_duplicate() -> None:
    first = {"source": ["mes.events", 1, 40], "accepted_at": [0, 7]}
    for source in (("mes.events", 1, 41), ("mes.events", 0, 40), ("logistics.events", 1, 40)):
        assert decide(first, source, (0, 8)).verdict is Verdict.DUPLICATE
