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


@pytest.mark.parametrize("backend", ["memory", "rocksdb"])
def test_a_write_moves_the_position_only_past_a_changelog_it_has_read_to_the_end(backend: str, tmp_path: Path) -> None:
    """Ingest processes of two source topics write one changelog partition: a position moved past the other
    process's records would make a replay from it (a restart on disk, a partition that comes back) miss them."""
    index = EventIdIndex(tmp_path / "ids" if backend == "rocksdb" else None)
    index.logged(1, {"a": ("mes.events", 1, 0)}, 0)
    index.logged(1, {"b": ("mes.events", 1, 1)}, 1)
    assert index.position(1) == 2  # only its own records so far: nothing to replay
    index.logged(1, {"c": ("mes.events", 1, 2)}, 5)  # offsets 2-4: another process's records
    assert index.first("c") == ("mes.events", 1, 2)
    assert index.position(1) == 2  # a replay starts before them ...
    other = {"d": ("logistics.events", 1, 7)}
    replay(index, 1, [(2, encode_changes(other)), (5, encode_changes({"c": ("mes.events", 1, 2)}))])
    assert index.first("d") == ("logistics.events", 1, 7) and index.position(1) == 6  # ... and finds them
    index.close()
