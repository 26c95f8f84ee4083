"""What the bench's --restart counts and publishes: the changelog a new worker reads back, the batch after the kill,
and the fields the result carries."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from battrace.cli.bench import bench
from battrace.runs.bench import BenchResult, iter_rows
from battrace.runs.recovery import StoreStarts, entities_changelog, follow_ups, replayed, store_starts
from battrace.settings import Settings
from processors.event_ids import EventIdIndex
from processors.validate import Accepted, Validator
from schemas.codec import Decoder
from streams import topics
from streams.simulator import commissioning, simulate

SETTINGS = Settings(home=Path("/nonexistent"), partitions=2)
CHANGELOG, IDS = entities_changelog(SETTINGS), topics.EVENT_IDS.name
ENDS = {(CHANGELOG, 0): 500, (CHANGELOG, 1): 300, (IDS, 0): 4, (IDS, 1): 3, ("trace.chain", 0): 9_999}


def test_a_memory_store_replays_every_changelog_record_from_the_earliest_offset() -> None:
    nothing = StoreStarts({0: None, 1: None}, {0: None, 1: None})
    earliest = {(CHANGELOG, 0): 0, (CHANGELOG, 1): 100, (IDS, 0): 0, (IDS, 1): 0}
    assert replayed(SETTINGS, ENDS, earliest, nothing) == {"entities": 500 + 200, "event_ids": 7}


def test_a_disk_store_replays_only_what_was_written_after_its_persisted_offsets() -> None:
    starts = StoreStarts({0: 450, 1: 300}, {0: 4, 1: None})
    assert replayed(SETTINGS, ENDS, {}, starts) == {"entities": 50, "event_ids": 3}
    below_earliest = StoreStarts({0: 10, 1: None}, {0: None, 1: None})  # compacted or deleted below the store
    assert replayed(SETTINGS, ENDS, {(CHANGELOG, 0): 400}, below_earliest)["entities"] == 100 + 300


def test_the_rocksdb_starts_are_read_where_faust_itself_keeps_its_persisted_offset(tmp_path: Path) -> None:
    pytest.importorskip("rocksdict", reason="the RocksDB table store needs the rocksdict package")
    from faust.types import TP

    from processors.worker import make_app

    settings = Settings(home=tmp_path, partitions=2, table_store="rocksdb://")
    store = make_app(settings, tansu=True).Table("entities", default=None, key_type=bytes).data
    store.set_persisted_offset(TP(entities_changelog(settings), 1), 41)  # faust's own store writes it
    for db in store._dbs.values():  # the worker is gone: its databases are closed
        db.close()
    index = EventIdIndex(tmp_path / "faust" / "event_ids")
    index.apply(0, {"ev-1": ("mes.events", 0, 7)}, next_offset=5)
    index.close()
    assert store_starts(settings) == StoreStarts({0: None, 1: 42}, {0: 5, 1: None})


def test_a_memory_store_starts_from_nothing_without_looking_at_the_disk() -> None:
    assert store_starts(SETTINGS) == StoreStarts({0: None, 1: None}, {0: None, 1: None})


def test_follow_ups_are_valid_events_extending_the_first_commissioned_batteries() -> None:
    sim = list(commissioning(50, seed=3))
    batch = follow_ups(sim, 20)
    validator, decoder = Validator(Decoder()), Decoder()
    commissioned = [decoder.decode(ev.value).record["body"][1]["battery_id"] for ev in sim[:20]]
    verdicts = [validator.validate(ev.topic, ev.value, ev.timestamp_ms) for ev in batch]
    assert all(isinstance(v, Accepted) for v in verdicts), verdicts
    assert {decoder.decode(ev.value).record["body"][0] for ev in batch} == {"battrace.mes.EnergyUsed"}
    assert [ev.key.decode() for ev in batch] == commissioned  # keyed like the battery's own events
    assert [v.entities for v in verdicts] == [[f"battery:{code}"] for code in commissioned]
    assert len({ev.event_id for ev in batch} | {ev.event_id for ev in sim}) == len(batch) + len(sim)
    assert [ev.value for ev in follow_ups(commissioning(50, seed=3), 20)] == [ev.value for ev in batch]


def test_follow_ups_of_the_full_story_skip_invalid_and_other_events() -> None:
    sim = list(simulate(400, seed=5, invalid_share=0.2))
    batch = follow_ups(sim, 10)
    assert len(batch) == 10 and all(ev.topic == topics.MES.name for ev in batch)


def test_the_result_carries_the_recovery_fields_only_after_a_restart() -> None:
    fields = BenchResult.__dataclass_fields__
    assert {"recovery_s", "recovery_replayed", "recovery_replayed_by", "recovery_events"} <= set(fields)
    plain = {name: 0 for name, f in fields.items() if f.default is not None}  # the required fields
    without = BenchResult(**plain).to_json()  # type: ignore[arg-type]
    assert without["recovery_s"] is None and without["recovery_replayed_by"] is None
    after = BenchResult(**plain, recovery_s=8.2, recovery_replayed=2008, recovery_replayed_by={"entities": 2004})  # type: ignore[arg-type]
    rows = dict(iter_rows(after))
    assert rows["recovery_s"] == "8.2" and rows["recovery_replayed_by.entities"] == "2004"


@pytest.mark.parametrize("extra", [["--rate", "100"], ["--workers", "2"]])
def test_restart_with_a_paced_or_several_workers_run_is_a_usage_error(extra: list[str]) -> None:
    result = CliRunner().invoke(bench, ["--restart", *extra])
    assert result.exit_code == 2 and "--restart" in result.output and "drop --rate and --workers" in result.output
