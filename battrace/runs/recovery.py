"""What a crashed worker's successor does before it seals again: the changelog it reads back, and the batch that
shows it is back at work.

A worker holds two tables that a new worker recovers before it works on them:

- the seal stage's faust table ``entities`` (every entity's state and each log's state), whose changelog is
  ``<app_id>-entities-changelog``. faust reads a changelog partition from after the offset its store already
  holds to the partition's end: ``memory://`` holds nothing, so it reads from the earliest offset; ``rocksdb://``
  holds faust's persisted offset (the offset of the last changelog record the store applied; the seal stage sets it
  after every changelog write), so it reads only what was written after it.
- the ingest stage's dedup index (processors/event_ids.py), whose changelog is ``trace.event_ids``: read from the
  start with ``memory://``, from the position the RocksDB index stored with ``rocksdb://``.

:func:`replayed` counts those records, per table: for every partition, the changelog's end when the worker was
killed minus where the store left on disk then starts (or the partition's earliest offset). It is counted from the
broker and the stores, not from the new worker, because the worker does not report what it read; it is the range
faust logs at info level as its plan ("Highwater" minus "Reading Starts At") and reads in full before it resumes
its streams. On a compacted changelog (Apache Kafka) the range can hold fewer records than its offsets span: the
count is then an upper bound.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from battrace.domain.sources import MES_EVENT
from battrace.runs.bench_error import BenchError
from battrace.settings import Settings
from processors.event_ids import EventIdIndex
from processors.worker import make_app
from schemas.codec import Decoder, encode
from streams import topics
from streams.kafka import MissingTopicError, watermarks
from streams.simulator import SimEvent

ENTITIES_TABLE = "entities"  # the seal stage's faust table (processors/worker.py build_worker)
FAUST_OFFSET_KEY = b"__faust\0offset__"  # where faust's RocksDB store keeps its persisted offset (faust.stores.rocksdb)
COMMISSIONED = "battrace.mes.Commissioned"
FOLLOW_UP_STEP = "end-of-line test"
FOLLOW_UP_DELAY_MS = 60_000  # a follow-up happens this long after its battery was commissioned
FOLLOW_UP_NAMESPACE = uuid.UUID("6f1d3c0e-6a53-4a55-9d2b-1c8f0e7d4b21")  # follow-up ids: uuid5 of the original's


def entities_changelog(settings: Settings) -> str:
    """faust names a table's changelog ``<app id>-<table>-changelog``."""
    return f"{settings.app_id}-{ENTITIES_TABLE}-changelog"


def changelog_topics(settings: Settings) -> list[str]:
    return [entities_changelog(settings), topics.EVENT_IDS.name]


@dataclass(frozen=True)
class StoreStarts:
    """Where each table's store starts reading its changelog, per partition: the next offset it needs (None: it
    holds nothing, and reads from the earliest offset)."""

    entities: dict[int, int | None]
    event_ids: dict[int, int | None]


def store_starts(settings: Settings) -> StoreStarts:
    """Read from the stores on disk, opened read-only: beside a caught-up worker that writes nothing any more (the
    bench reads them before its kill, so its own reading is not timed as the successor's recovery)."""
    partitions = range(settings.partitions)
    if not settings.table_store.startswith("rocksdb"):
        return StoreStarts(dict.fromkeys(partitions), dict.fromkeys(partitions))
    return StoreStarts(_faust_persisted(settings), _index_positions(settings))


def _faust_persisted(settings: Settings) -> dict[int, int | None]:
    from rocksdict import AccessType, Rdict  # optional dependency: only with the rocksdb table store

    tables = make_app(settings, tansu=True).conf.tabledir  # the worker's own app definition says where
    starts: dict[int, int | None] = {}
    for partition in range(settings.partitions):
        path = tables / f"{ENTITIES_TABLE}-{partition}.db"
        if not path.is_dir():
            starts[partition] = None
            continue
        db = Rdict(str(path), access_type=AccessType.read_only())
        try:
            raw = db.get(FAUST_OFFSET_KEY)
        finally:
            db.close()
        starts[partition] = None if raw is None else int(raw) + 1
    return starts


def _index_positions(settings: Settings) -> dict[int, int | None]:
    path = settings.home / "faust" / "event_ids"  # where processors/ingest.py keeps it on disk
    if not path.is_dir():
        return dict.fromkeys(range(settings.partitions))
    index = EventIdIndex(path, read_only=True)
    try:
        return {p: index.position(p) or None for p in range(settings.partitions)}
    finally:
        index.close()


def earliest_offsets(bootstrap: str, topic_names: Iterable[str], timeout_s: float = 10) -> dict[tuple[str, int], int]:
    """Low watermark of every partition of the given topics; a topic the broker does not have is an error."""
    try:
        return {tp: low for tp, (low, _) in watermarks(bootstrap, topic_names, timeout_s).items()}
    except MissingTopicError as exc:
        raise BenchError(f"the broker has no changelog topic {exc.args[0]}: the worker never wrote its table") from None


def replayed(
    settings: Settings,
    ends: Mapping[tuple[str, int], int],
    earliest: Mapping[tuple[str, int], int],
    starts: StoreStarts,
) -> dict[str, int]:
    """Changelog records a new worker reads to recover each table (module docstring): ``ends``: the changelogs' end
    offsets at the kill; ``earliest``: their low watermarks; ``starts``: where the stores start."""
    counts: dict[str, int] = {}
    for table, topic, table_starts in (
        (ENTITIES_TABLE, entities_changelog(settings), starts.entities),
        ("event_ids", topics.EVENT_IDS.name, starts.event_ids),
    ):
        total = 0
        for (name, partition), end in ends.items():
            if name != topic:
                continue
            start = max(table_starts.get(partition) or 0, earliest.get((name, partition), 0))
            total += max(0, end - start)
        counts[table] = total
    return counts


def follow_ups(sim: Iterable[SimEvent], count: int) -> list[SimEvent]:
    """``count`` valid ``EnergyUsed`` events about the first batteries ``sim`` commissions: each extends a chain the
    crashed worker sealed, so the new worker seals it only on the state it recovered (a lost state would restart
    the chain at 1, which ``battrace verify`` rejects)."""
    decoder = Decoder()
    out: list[SimEvent] = []
    for ev in sim:
        if len(out) == count:
            break
        if ev.expected_reason is not None or ev.topic != topics.MES.name:
            continue
        record = decoder.decode(ev.value).record
        kind, body = record["body"]
        if kind != COMMISSIONED:
            continue
        when = record["event_time"] + FOLLOW_UP_DELAY_MS
        event_id = str(uuid.uuid5(FOLLOW_UP_NAMESPACE, record["event_id"]))
        energy = {
            "battery_id": body["battery_id"],
            "step": FOLLOW_UP_STEP,
            "energy_kwh": round(body["energy_kwh"] * 0.05, 3),
            "grid_factor_kg_per_kwh": 0.5,
        }
        follow_up = {**record, "event_id": event_id, "event_time": when, "body": ("battrace.mes.EnergyUsed", energy)}
        out.append(SimEvent(ev.topic, ev.key, encode(MES_EVENT, follow_up), when, None, event_id))
    return out
