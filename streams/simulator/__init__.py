"""A seeded, deterministic simulator of the four battrace sources: one coherent story, with a few bad messages.

``simulate(n, seed)`` yields exactly n messages, byte-identical for the same arguments: the valid story
(``story``: registry, lots and assays, production, freight with GPS tracks, vehicle life, end of life,
recycling and recovered lots back into new cells) with invalid messages (``faults``) slotted in between.
Every message says how the validator must treat it, so tests and the demo can check the pipeline end to end.
With ``violations`` (the default) the story also breaks compliance rules a few times per run, in valid events
that say which flags the checkers must raise (``SimEvent.expected_flags``; see ``story``).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from random import Random

from battrace.domain.entities import kind_of
from schemas.codec import Decoder, encode
from streams.simulator.faults import Forger, Plan
from streams.simulator.story import START_MS, Story

# The story's clock starts on 2026-01-05 and runs at about 600 events a simulated day, so a long run (200,000 events:
# eleven months) reaches past the machine's clock, which ingest trusts to cap producer timestamps. A worker fed a
# simulated world allows its events this far ahead (battrace/runs: demo and bench); real deployments keep the
# default tolerance of a day.
CLOCK_LEAD_S = 10 * 366 * 86_400

__all__ = ["CLOCK_LEAD_S", "START_MS", "SimEvent", "commissioning", "expected_flag_counts", "simulate", "story_stats"]
_REPLAY_WINDOW = 256  # duplicates re-send one of the last this-many valid messages


@dataclass(frozen=True)
class SimEvent:
    topic: str  # source topic name from streams.topics
    key: bytes  # Kafka key: battery / lot / consignment / registry entity id (utf-8)
    value: bytes  # Avro single-object bytes (or deliberately broken bytes)
    timestamp_ms: int  # Kafka timestamp to produce with (>= event_time; simulated clock)
    expected_reason: str | None  # None for a valid message, else the schemas.reasons.Reason value
    event_id: str  # the event id ("" when the bytes are corrupt)
    # Compliance flags the checks must raise for this valid event: lifecycle violation codes
    # (battrace.domain.lifecycle), custody flag codes (battrace.domain.custody) or "outputs_exceed_inputs".
    expected_flags: tuple[str, ...] = ()
    # Transit flags the consignment's geofence rules must raise at this event (battrace.domain.transit codes).
    expected_transit: tuple[str, ...] = ()


def simulate(events: int, seed: int = 7, invalid_share: float = 0.02, violations: bool = True) -> Iterator[SimEvent]:
    """Exactly ``events`` messages; about ``invalid_share`` of them invalid, spread through the run.

    ``violations``: the story includes its compliance incidents (valid events the checks flag); runs of
    3,000 events or more carry every kind of them.
    """
    if events < 0:
        raise ValueError(f"events must be >= 0, got {events}")
    if not 0.0 <= invalid_share <= 1.0:
        raise ValueError(f"invalid_share must be in [0, 1], got {invalid_share}")
    return _run(events, seed, invalid_share, violations)


def _run(events: int, seed: int, invalid_share: float, violations: bool) -> Iterator[SimEvent]:
    drafts = Story(seed, violations).drafts()
    fault_rng = Random(f"battrace-faults:{seed}")  # a separate stream: the valid story ignores the faults
    plan, forger = Plan(events, invalid_share, fault_rng), Forger(fault_rng)
    recent: deque[SimEvent] = deque(maxlen=_REPLAY_WINDOW)
    last_ts = START_MS
    for i in range(events):
        kind = plan.kind_at(i)
        if kind is None:
            d = next(drafts)
            value = encode(d.schema, d.record)
            event_id = d.record["event_id"]
            ev = SimEvent(d.topic, d.key.encode(), value, d.timestamp_ms, None, event_id, d.flags, d.transit)
            recent.append(ev)
        else:
            f = forger.forge(kind, last_ts, recent)
            ev = SimEvent(f.topic, f.key, f.value, f.timestamp_ms, f.reason.value, f.event_id)
        last_ts = ev.timestamp_ms
        yield ev


def story_stats(events: Iterable[SimEvent]) -> dict[str, int]:
    """Messages per kind (Commissioned, Position, Assay, Licence, ...) and per invalid reason ("invalid:...")."""
    decoder = Decoder()
    counts: Counter[str] = Counter()
    for ev in events:
        if ev.expected_reason is None:
            counts[kind_of(decoder.decode(ev.value).record)] += 1
        else:
            counts[f"invalid:{ev.expected_reason}"] += 1
    return dict(sorted(counts.items()))


def expected_flag_counts(events: Iterable[SimEvent]) -> dict[str, int]:
    """How often each compliance flag should be raised (one count per event that carries it)."""
    return dict(sorted(Counter(flag for ev in events for flag in ev.expected_flags).items()))


# Last: the commissioning module builds on SimEvent, defined above.
from streams.simulator.commissioning import commissioning  # noqa: E402
