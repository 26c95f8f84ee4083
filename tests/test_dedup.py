"""Duplicate event ids vs. redelivered messages, and the dedup state's changelog."""

from __future__ import annotations

from pathlib import Path

import pytest

from processors.dedup import Verdict, decide
from processors.event_ids import EventIdIndex, decode_changes, encode_changes, replay


def test_first_acceptance_is_new() -> None:
    assert decide(None, ("mes.events", 1, 40)) is Verdict.NEW


def test_redelivery_of_the_same_source_message_is_passed_on() -> None:
    assert decide(("mes.events", 1, 40), ("mes.events", 1, 40)) is Verdict.REDELIVERY


def test_resent_event_id_is_a_duplicate() -> None:
    first = ("mes.events", 1, 40)
    for source in (("mes.events", 1, 41), ("mes.events", 0, 40), ("logistics.events", 1, 40)):
        assert decide(first, source) is Verdict.DUPLICATE


@pytest.mark.parametrize("backend", ["memory", "rocksdb"])
def test_index_is_rebuilt_from_its_changelog_and_remembers_its_position(backend: str, tmp_path: Path) -> None:
    batches = [{"e1": ("mes.events", 0, 5), "e2": ("assay.results", 0, 9)}, {"é3": ("mes.events", 0, 6)}]
    changelog = [(10 + i, encode_changes(b)) for i, b in enumerate(batches)]
    assert decode_changes(changelog[1][1]) == batches[1]
    path = tmp_path / "ids" if backend == "rocksdb" else None
    index = EventIdIndex(path)
    assert index.position(0) == 0
    assert replay(index, 0, changelog) == 3
    assert index.first("e2") == ("assay.results", 0, 9) and index.first("é3") == ("mes.events", 0, 6)
    assert index.first("e4") is None
    assert index.position(0) == 12 and index.position(1) == 0
    index.close()
    if path is not None:  # a disk-backed index survives a restart: only the changelog's tail is replayed
        reopened = EventIdIndex(path)
        assert reopened.position(0) == 12 and reopened.first("e1") == ("mes.events", 0, 5)
        reopened.close()
