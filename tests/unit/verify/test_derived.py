"""Recomputing derived rows from canonical event bytes, and comparing them with stored rows (no store involved)."""

from __future__ import annotations

import copy
from collections import defaultdict

import pytest

from battrace.domain.entities import BATTERY
from battrace.verify.derived import (
    EVENT_COLUMNS,
    Derived,
    UndecodableEvent,
    compare,
    envelope_of,
    event_rows_of,
    projection_entity,
    replay,
    row_entity,
)
from schemas.envelope import Envelope
from streams.simulator import simulate


@pytest.fixture(scope="module")
def sealed() -> tuple[dict[str, bytes], dict[str, list[Envelope]]]:
    """Canonical bytes by event id, and each entity's events in the order the simulator sent them."""
    canonical: dict[str, bytes] = {}
    chains: dict[str, list[Envelope]] = defaultdict(list)
    for sim in simulate(600, seed=3, invalid_share=0.0):
        ev = envelope_of(sim.value)
        canonical[ev.event_id] = sim.value
        for entity in ev.entities:
            chains[entity].append(ev)
    return canonical, chains


def _derived(chains: dict[str, list[Envelope]]) -> Derived:
    out = Derived()
    for entity, chain in chains.items():
        replay(entity, chain, out)
    return out


def test_an_event_row_is_rebuilt_from_its_bytes_without_its_unsealed_source_columns(sealed) -> None:
    canonical, chains = sealed
    event_id, raw = next(iter(canonical.items()))
    row, _ = event_rows_of(envelope_of(raw), raw)
    assert tuple(row) == EVENT_COLUMNS and "source_offset" not in row
    assert row["event_id"] == event_id and row["canonical"] == raw
    assert row["entities"] == list(envelope_of(raw).entities) and row["entities"][0] in chains


def test_bytes_that_do_not_decode_are_refused() -> None:
    with pytest.raises(UndecodableEvent):
        envelope_of(b"\xc3\x01garbage!")


def test_the_recomputation_equals_itself_and_repeats_of_a_row_are_not_differences(sealed) -> None:
    _, chains = sealed
    expected = _derived(chains)
    assert expected.of("carbon") and expected.of("batteries") and expected.of("flags")
    stored = [*expected.of("carbon").values(), *copy.deepcopy(list(expected.of("carbon").values()))]
    assert compare("carbon", expected.of("carbon"), stored, row_entity) == []
    assert _derived(chains).rows == expected.rows  # a pure function of the chains


def test_a_changed_column_names_the_entity_the_column_and_both_values(sealed) -> None:
    _, chains = sealed
    expected = _derived(chains).of("carbon")
    stored = copy.deepcopy(list(expected.values()))
    stored[0]["kg_co2e"] /= 10
    found = compare("carbon", expected, stored, row_entity)
    assert len(found) == 1
    assert found[0].entity == f"{stored[0]['entity_type']}:{stored[0]['entity_id']}"
    assert "kg_co2e" in found[0].problem and repr(stored[0]["kg_co2e"]) in found[0].problem


def test_a_forged_row_and_a_deleted_row_both_fail(sealed) -> None:
    _, chains = sealed
    expected = _derived(chains).of("batteries")
    stored = copy.deepcopy(list(expected.values()))
    deleted = stored.pop()
    forged = {**stored[0], "battery_id": "FORGED"}
    found = compare("batteries", expected, [*stored, forged], projection_entity("batteries"))
    problems = {d.entity: d.problem for d in found}
    assert "not derived from sealed events" in problems[f"{BATTERY}:FORGED"]
    assert "missing from the store" in problems[f"{BATTERY}:{deleted['battery_id']}"]


def test_an_edited_payload_changes_what_the_events_give(sealed) -> None:
    """The recomputation reads the record, not stored columns: a different record yields a different projection."""
    _, chains = sealed
    entity, chain = next((e, c) for e, c in chains.items() if e.startswith(f"{BATTERY}:") and len(c) > 1)
    last = chain[-1]
    edited = Envelope(
        last.event_id, last.schema, "Serviced", last.event_time_ms + 1, last.source, last.event_hash,
        last.record, last.entities,
    )  # fmt: skip
    honest, other = Derived(), Derived()
    replay(entity, chain, honest)
    replay(entity, [*chain[:-1], edited], other)
    assert honest.of("batteries") != other.of("batteries")
    differences = compare(
        "batteries", honest.of("batteries"), other.of("batteries").values(), projection_entity("batteries")
    )
    assert differences and {d.entity for d in differences} == {entity}


def test_keys_other_than_the_tables_own_can_be_given() -> None:
    expected = {("L1",): {"lot_id": "L1", "eligible": False}}
    found = compare(
        "lot_eligibility",
        expected,
        [{"lot_id": "L1", "eligible": True}],
        lambda r: [f"lot:{r['lot_id']}"],
        keys=("lot_id",),
    )
    assert [(d.entity, "eligible" in d.problem) for d in found] == [("lot:L1", True)]
