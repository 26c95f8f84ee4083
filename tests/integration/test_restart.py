"""A stopped and restarted worker on the in-memory table store: it rebuilds every entity's state from the table's
changelog, so the story goes on where it stopped (the RocksDB store has its own test in test_table_store)."""

from __future__ import annotations

from embedded import Stack, embedded_stack
from published import PUBLISHED, REJECTED_PUBLISHED

from streams.simulator import simulate

SEALED = f"SELECT entity_type, entity_id, seq, event_id, chain_hash FROM battrace.sealed FINAL WHERE {PUBLISHED}"


def test_a_restarted_worker_rebuilds_its_state_from_the_changelog_and_loses_nothing(tmp_path) -> None:
    events = list(simulate(4000, seed=29, invalid_share=0.03))
    first, rest = events[:2500], events[2500:]
    stack: Stack
    with embedded_stack(tmp_path) as stack:
        assert stack.settings.table_store == "memory://"
        published = stack.publish(first)
        stack.process()
        before = {tuple(r) for r in stack.sql(SEALED)}
        published += stack.publish(rest)
        stack.process()  # a new worker: its table is only what it recovered from the changelog
        after = {tuple(r) for r in stack.sql(SEALED)}
        # A worker that recovered only part of the changelog starts some chains afresh, and their new seq 0, 1, ...
        # rows replace sealed rows of earlier events (sealed is keyed by entity and seq).
        assert before <= after
        valid_ids = {ev.event_id for ev in events if ev.expected_reason is None}
        assert {r[3] for r in after} == valid_ids
        rejected = stack.sql(REJECTED_PUBLISHED)[0][0]
        assert published == len(valid_ids) + rejected
