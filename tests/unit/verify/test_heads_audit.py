"""The log audit's heads check: each checkpoint's heads line against the heads of the stored entries below it."""

from __future__ import annotations

from battrace.tlog import Checkpoint, leaf_hash, root_hash
from battrace.verify.log_audit import HeadsAudit, LogView
from schemas.heads import head_leaf, heads_line
from schemas.log_entries import redelivered_entry, sealed_entry


def entry(entity_id: str, seq: int) -> bytes:
    row = {"entity_type": "battery", "entity_id": entity_id, "seq": seq, "event_id": f"{entity_id}-{seq}"}
    return sealed_entry({**row, "event_hash": "00" * 32, "chain_hash": f"{seq:02x}" * 32})


ENTRIES = [entry("A", 1), entry("B", 1), redelivered_entry("battery:A", "A-1", ["t", 0, 0]), entry("A", 2)]


def heads_of(*heads: tuple[str, int]) -> str:
    leaves = [leaf_hash(head_leaf(f"battery:{e}", n, f"{n:02x}" * 32)) for e, n in heads]
    return heads_line(len(leaves), root_hash(leaves))


def audit(*checkpoints: tuple[int, tuple[str, ...]]) -> list[str]:
    view = LogView("L/0", entries=list(ENTRIES))
    heads = HeadsAudit(view)
    for size, extensions in checkpoints:
        heads.check(Checkpoint("L/0", size, bytes(32), extensions))
    return view.problems


def test_heads_lines_that_match_the_entries_pass_and_others_are_named_by_checkpoint_size() -> None:
    assert audit((2, (heads_of(("A", 1), ("B", 1)),)), (4, (heads_of(("A", 2), ("B", 1)),))) == []
    assert audit((3, (heads_of(("A", 1), ("B", 1)),)), (4, (heads_of(("A", 1), ("B", 1)),))) == [
        "checkpoint 4: its heads line does not match the heads of the stored entries"
    ]
    assert audit((2, (heads_of(("B", 1), ("A", 1)),))) == [  # first-appearance order is part of the root
        "checkpoint 2: its heads line does not match the heads of the stored entries"
    ]
    assert audit((1, ()), (2, ("battrace-heads 2 nope",))) == [
        "checkpoint 1: it has no heads line, so no bundle can prove it is complete",
        "checkpoint 2: the heads root must be canonical base64 of 32 bytes",
    ]


def test_an_entry_that_is_not_a_log_entry_stops_the_heads_check_with_a_problem() -> None:
    view = LogView("L/0", entries=[entry("A", 1), b"not json", entry("A", 2)])
    heads = HeadsAudit(view)
    heads.check(Checkpoint("L/0", 3, bytes(32), (heads_of(("A", 2)),)))
    heads.check(Checkpoint("L/0", 3, bytes(32), (heads_of(("A", 2)),)))
    assert view.problems == ["entry 1: not a log entry (heads not checked from here on)"]
