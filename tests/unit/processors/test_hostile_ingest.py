"""Ingest against hostile input: oversize messages, events too big for one pack together, far-future event times.

No single message may stop ingest: whatever it is sent, what ingest produces (reject records and packs) fits the
producer limit, and the verdicts depend on the message alone, so a replay reaches them again.
"""

from __future__ import annotations

import hashlib
import random
from types import SimpleNamespace

import msgspec
from aiokafka.structs import ConsumerRecord

from processors.event_ids import EventIdIndex
from processors.ingest import MAX_MESSAGE_BYTES, OVERSIZE_KEPT_BYTES, PACK_MAX_BYTES, ingest_batch
from processors.reject_stage import reject_rows
from processors.validate import Accepted, Rejected, Validator
from schemas.envelope import PackEntry, RejectRecord, loads_pack
from schemas.reasons import Reason
from streams.simulator import simulate
from streams.simulator.faults import FAR_FUTURE_MS, Forged, far_future_event, oversize_garbage, padded_event

NOW_MS = 1_768_000_000_000
MB = 1_000_000


def _records(messages: list[Forged]) -> list[ConsumerRecord]:
    return [
        ConsumerRecord(m.topic, 0, i, m.timestamp_ms, 0, m.key, m.value, None, 0, 0, []) for i, m in enumerate(messages)
    ]


def test_an_oversize_message_becomes_a_small_reject_with_its_length_and_digest() -> None:
    garbage = oversize_garbage(5 * MB, NOW_MS, random.Random(1))
    ingested = ingest_batch(Validator(), EventIdIndex(None), _records([garbage]), 2, max_event_bytes=MB)
    [reject] = ingested.rejects
    raw = reject.dumps()
    assert reject.reason == Reason.OVERSIZE == "oversize"
    assert len(raw) < 10_000 < MAX_MESSAGE_BYTES
    back = RejectRecord.loads(raw)
    assert back.original == garbage.value[:OVERSIZE_KEPT_BYTES]
    assert back.original_length == 5 * MB and back.cut
    assert back.original_sha256 == hashlib.sha256(garbage.value).hexdigest()
    assert "BATTRACE_MAX_EVENT_BYTES=1000000" in back.detail
    [row] = reject_rows([SimpleNamespace(value=raw)]).rows["rejects"]
    assert row["reason"] == "oversize" and row["original"] == garbage.value[:OVERSIZE_KEPT_BYTES]
    assert f"of {5 * MB} bytes, sha256 {back.original_sha256}" in row["detail"]
    assert not ingested.packs


def test_a_valid_event_over_the_limit_is_rejected_and_one_at_the_limit_is_accepted() -> None:
    rng = random.Random(2)
    big = padded_event(3 * MB, NOW_MS, rng)
    fits = padded_event(MB // 2, NOW_MS, rng)
    assert isinstance(Validator().validate(big.topic, big.value, big.timestamp_ms), Accepted)
    ingested = ingest_batch(Validator(), EventIdIndex(None), _records([big, fits]), 2, max_event_bytes=len(fits.value))
    assert [(r.reason, r.source[2]) for r in ingested.rejects] == [("oversize", 0)]
    assert [m.event_id for p in ingested.messages() for m in _entries(p[1])] == [fits.event_id]


def _entries(pack: bytes) -> list[str]:
    return [SimpleNamespace(event_id=e.event.event_id) for e in loads_pack(pack)]  # type: ignore[misc]


def test_an_event_too_big_for_any_pack_is_rejected_and_not_remembered_as_accepted() -> None:
    """Its pack entry alone (decoded record, canonical bytes and events row: ~3x the message) would not fit a pack:
    rejected, and dedup does not remember it, so a replay decides the same."""
    event = padded_event(200_000, NOW_MS, random.Random(3))
    ingested = ingest_batch(Validator(), EventIdIndex(None), _records([event]), 2, max_pack_bytes=500_000)
    assert [r.reason for r in ingested.rejects] == ["oversize"]
    assert "trace.chain pack of 500000 bytes" in ingested.rejects[0].detail
    assert len(ingested.rejects[0].dumps()) < 10_000
    assert not ingested.packs and not any(ingested.first_seen.values())
    again = ingest_batch(Validator(), EventIdIndex(None), _records([event]), 2, max_pack_bytes=500_000)
    assert [r.dumps() for r in again.rejects] == [r.dumps() for r in ingested.rejects]


def test_big_events_are_split_over_packs_under_the_limit_and_read_back_in_order() -> None:
    rng = random.Random(4)
    first = padded_event(300_000, NOW_MS, rng)
    events = [first] + [padded_event(300_000, NOW_MS + i, rng, battery_id=first.key.decode()) for i in range(1, 6)]
    limit = 2 * MB
    ingested = ingest_batch(Validator(), EventIdIndex(None), _records(events), 2, max_pack_bytes=limit)
    messages = list(ingested.messages(limit))
    assert len(messages) == 3  # six entries of ~0.9 MB: two to a pack of 2 MB
    assert all(len(pack) <= limit for _, pack in messages)
    read = [e for _, pack in messages for e in loads_pack(pack)]
    assert [e.event.event_id for e in read] == [e.event_id for e in events]
    written = [msgspec.msgpack.decode(e, type=PackEntry) for entries in ingested.packs.values() for e in entries]
    assert read == written


def test_an_ordinary_batch_is_not_split() -> None:
    events = list(simulate(2000, seed=7))
    records = [
        ConsumerRecord(e.topic, 0, i, e.timestamp_ms, 0, e.key, e.value, None, 0, 0, []) for i, e in enumerate(events)
    ]
    ingested = ingest_batch(Validator(), EventIdIndex(None), records, 2)
    per_partition = {p: len(entries) for p, entries in ingested.packs.items()}
    messages = list(ingested.messages())
    assert len(messages) == sum(-(-n // 500) for n in per_partition.values())  # only the 500-event cut
    assert max(len(pack) for _, pack in messages) < PACK_MAX_BYTES // 10


def test_a_year_3000_event_stamped_3000_is_rejected_by_ingest_s_clock() -> None:
    future = far_future_event(random.Random(5))
    assert future.timestamp_ms == FAR_FUTURE_MS
    validator = Validator(future_tolerance_s=86_400)
    assert isinstance(validator.validate(future.topic, future.value, future.timestamp_ms), Accepted)  # Kafka ts alone
    verdicts = [  # first sight and a replay ten years later: the same verdict, the same words (the same row)
        validator.validate(future.topic, future.value, future.timestamp_ms, now)
        for now in (NOW_MS, NOW_MS + 10 * 365 * 86_400_000)
    ]
    assert verdicts[0] == verdicts[1]
    assert isinstance(verdicts[0], Rejected) and verdicts[0].reason is Reason.INVALID_TIME
    ingested = ingest_batch(validator, EventIdIndex(None), _records([future]), 2, now_ms=NOW_MS)
    assert [r.reason for r in ingested.rejects] == ["invalid_time"]


def test_an_honestly_stamped_event_gets_the_same_verdict_whenever_it_is_replayed() -> None:
    validator = Validator(future_tolerance_s=60)
    for m in (padded_event(1000, NOW_MS, random.Random(6)), far_future_event(random.Random(7))):
        ts = NOW_MS  # the producer's clock agrees with ingest's
        verdicts = {type(validator.validate(m.topic, m.value, ts, now)) for now in (ts, ts + 1, ts + 10**12)}
        assert len(verdicts) == 1


def test_a_reject_record_stays_bounded_whatever_it_is_given() -> None:
    huge = b"\xff" * (8 * MB)
    record = RejectRecord(("mes.events", 0, 1, NOW_MS), "undecodable", "\x00" * MB, "e" * MB, huge)
    raw = record.dumps()
    assert len(raw) < 1024 * 1024 < MAX_MESSAGE_BYTES
    back = RejectRecord.loads(raw)
    assert back.original_length == 8 * MB and back.original_sha256 == hashlib.sha256(huge).hexdigest() and back.cut


def test_a_reject_record_written_before_lengths_and_digests_still_reads() -> None:
    old = b'{"source":["mes.events",0,1,5],"reason":"undecodable","detail":"d","event_id":"","original":"AAE="}'
    record = RejectRecord.loads(old)
    assert (record.original, record.original_length, record.cut) == (b"\x00\x01", 2, False)
    assert record.original_sha256 == hashlib.sha256(b"\x00\x01").hexdigest()
