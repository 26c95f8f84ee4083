"""Duplicate event ids vs. redelivered messages."""

from __future__ import annotations

from processors.dedup import Verdict, decide


def test_first_acceptance_is_remembered() -> None:
    d = decide(None, ("mes.events", 1, 40))
    assert d.verdict is Verdict.NEW
    assert d.remember == {"source": ["mes.events", 1, 40]}


def test_redelivery_of_the_same_source_message_is_passed_on_and_not_remembered_again() -> None:
    first = {"source": ["mes.events", 1, 40]}
    d = decide(first, ("mes.events", 1, 40))
    assert d.verdict is Verdict.REDELIVERY and d.remember is None


def test_resent_event_id_is_a_duplicate() -> None:
    first = {"source": ["mes.events", 1, 40]}
    for source in (("mes.events", 1, 41), ("mes.events", 0, 40), ("logistics.events", 1, 40)):
        d = decide(first, source)
        assert d.verdict is Verdict.DUPLICATE and d.remember is None
