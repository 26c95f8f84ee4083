"""The messages of the ``epcis.capture`` topic: EPCIS 2.0 documents (JSON) in, one outcome per event out.

A message is an EPCISDocument (JSON, UTF-8) of any number of events. Each event is judged on its own, so one bad
event is rejected and the others are sealed:

1. it must be a valid EPCIS 2.0 event (GS1's JSON schema, battrace/epcis/schema.py), else ``epcis_invalid``;
2. an ``eventID`` that is a GS1 event hash (``ni:///sha-256;...?ver=CBV2.0``, what battrace exports) must be the
   hash of the event, else ``epcis_invalid``: the event changed after it was hashed;
3. it must map to a battrace event (battrace/epcis/capture.py), else ``epcis_unmappable``.

Its battrace event id is the one it brings (``battrace:sealed`` ``eventId``, else its ``eventID``) or, with neither,
its GS1 event hash: a document sent twice brings the same ids twice, and the second copy is rejected as ``duplicate``.

Where each event comes from: event ``i`` (0-based, in ``eventList`` order) of the message at offset ``o`` is
sourced at offset ``o * EVENTS_PER_MESSAGE + i`` of its partition. Every event has coordinates of its own, as dedup,
the seal stage (which recognises a replay by source offset, per entity) and the ``rejects`` table (keyed by
coordinates) need, and they grow in source order as a native partition's do. A message that is no EPCIS document at
all is one reject, at ``o * EVENTS_PER_MESSAGE``.

What a reject keeps as the original bytes of an event is a document of that event alone (the message's
``@context`` and header around it), so it can be fixed and captured again as it is; the event alone when the header is
larger than the event, so that the originals of a message's events never add up to more than twice the message
(thousands of tiny events under one large header would otherwise multiply it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from battrace.epcis.capture import Mapped, Names, NotCaptured, capture_event, declared_event_id
from battrace.epcis.event_hash import EventHashError, event_hashes
from battrace.epcis.schema import event_problem
from schemas.reasons import Reason

EVENTS_PER_MESSAGE = 1_000_000  # the source offset of an event: message offset * this + its index (module doc)
GS1_HASH = "ni:///sha-256;"
HASH_VERSION = "?ver=CBV2.0"  # the version of GS1's algorithm the reference implementation computes
SEND_MAX_EVENTS = 200  # events per message `battrace epcis capture` sends: a message's work stays short for ingest


@dataclass(frozen=True)
class Outcome:
    """One event of a message (or the whole message, when it is no EPCIS document): mapped, or why not."""

    index: int
    original: bytes
    mapped: Mapped | None = None
    reason: Reason | None = None
    detail: str = ""
    event_id: str = ""


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _document(value: bytes) -> dict[str, Any]:
    """The EPCISDocument of a message, or NotCaptured naming what it is instead."""
    try:
        document = json.loads(value)
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotCaptured(Reason.EPCIS_INVALID, f"the message is not JSON: {str(exc)[:200]}") from None
    if not isinstance(document, dict) or document.get("type") != "EPCISDocument":
        raise NotCaptured(Reason.EPCIS_INVALID, "the message is not an EPCIS 2.0 EPCISDocument (JSON)")
    if "@context" not in document:
        raise NotCaptured(Reason.EPCIS_INVALID, "the document has no @context (EPCIS 2.0 JSON-LD needs one)")
    body = document.get("epcisBody")
    events = body.get("eventList") if isinstance(body, dict) else None
    if not isinstance(events, list) or not events:
        raise NotCaptured(Reason.EPCIS_INVALID, "the document has no events (epcisBody.eventList)")
    if len(events) >= EVENTS_PER_MESSAGE:
        raise NotCaptured(Reason.EPCIS_INVALID, f"the document has more than {EVENTS_PER_MESSAGE - 1} events")
    return document


def _with(document: Mapping[str, Any], events: list[Any]) -> dict[str, Any]:
    """The document's @context and header around ``events``."""
    return {**{k: v for k, v in document.items() if k != "epcisBody"}, "epcisBody": {"eventList": events}}


def _hashes(document: Mapping[str, Any], wanted: dict[int, Any]) -> dict[int, str | EventHashError]:
    """The GS1 event hash of each wanted event (index -> event), or why it cannot be computed. One call for all of
    them; when that fails, one per event, so an event that cannot be hashed takes no other with it."""
    if not wanted:
        return {}
    try:
        return dict(zip(wanted, event_hashes(_with(document, list(wanted.values()))), strict=True))
    except Exception:  # any failure of the generator on hostile input: find out which event, below
        pass
    found: dict[int, str | EventHashError] = {}
    for index, event in wanted.items():
        try:
            found[index] = event_hashes(_with(document, [event]))[0]
        except EventHashError as exc:
            found[index] = exc
        except Exception as exc:
            found[index] = EventHashError(f"{type(exc).__name__}: {str(exc)[:200]}")
    return found


def _verdict(event: Any, names: Names, computed: str | EventHashError | None) -> tuple[str, Mapped]:
    """(event id, battrace event) of an event that passed the schema; NotCaptured otherwise."""
    if isinstance(computed, EventHashError):
        raise NotCaptured(Reason.EPCIS_INVALID, f"its GS1 event hash cannot be computed: {computed}")
    claimed = event.get("eventID")
    if _claims_hash(claimed) and claimed.lower() != (computed or "").lower():
        detail = f"eventID {claimed} is not the event's GS1 event hash ({computed}): it changed after it was hashed"
        raise NotCaptured(Reason.EPCIS_INVALID, detail)
    event_id = declared_event_id(event, names) or computed or ""
    return event_id, capture_event(event, names, event_id)


def _originals(document: Mapping[str, Any], events: list[Any]) -> list[bytes]:
    """What a reject keeps of each event: a document of it alone, or the event when the header outweighs it."""
    header = len(_dumps(_with(document, [])))
    kept = []
    for event in events:
        raw = _dumps(event)
        kept.append(_dumps(_with(document, [event])) if header <= len(raw) else raw)
    return kept


def _judge(document: Mapping[str, Any], names: Names, events: list[Any]) -> Iterator[Outcome]:
    originals = _originals(document, events)
    problems = [event_problem(event) for event in events]
    wanted = {i: e for i, e in enumerate(events) if problems[i] is None and _needs_hash(e, names)}
    hashes = _hashes(document, wanted)
    for index, event in enumerate(events):
        given = _given(event, names)
        if problems[index] is not None:
            yield Outcome(index, originals[index], None, Reason.EPCIS_INVALID, problems[index] or "", given)
            continue
        try:
            event_id, mapped = _verdict(event, names, hashes.get(index))
            yield Outcome(index, originals[index], mapped, event_id=event_id)
        except NotCaptured as exc:
            yield Outcome(index, originals[index], None, exc.reason, exc.detail, given)
        except Exception as exc:  # hostile input must not stop ingest; the type says where to look
            detail = f"{type(exc).__name__}: {str(exc)[:300]}"
            yield Outcome(index, originals[index], None, Reason.EPCIS_UNMAPPABLE, detail, given)


def _given(event: Any, names: Names) -> str:
    return (declared_event_id(event, names) or "") if isinstance(event, Mapping) else ""


def _claims_hash(event_id: Any) -> bool:
    return isinstance(event_id, str) and event_id.startswith(GS1_HASH) and event_id.endswith(HASH_VERSION)


def _needs_hash(event: Mapping[str, Any], names: Names) -> bool:
    """Its id is its hash (it brings none), or its eventID claims to be the hash (checked)."""
    return declared_event_id(event, names) is None or _claims_hash(event.get("eventID"))


def read_message(value: bytes) -> list[Outcome]:
    """Every event of one ``epcis.capture`` message, in document order, each mapped or with its reason."""
    try:
        document = _document(value)
        return list(_judge(document, Names(document["@context"]), document["epcisBody"]["eventList"]))
    except NotCaptured as exc:
        return [Outcome(0, value, None, exc.reason, exc.detail)]
    except RecursionError:  # JSON nested deeper than Python parses or checks
        return [Outcome(0, value, None, Reason.EPCIS_INVALID, "the message nests JSON too deeply")]


def messages(document: Mapping[str, Any], max_bytes: int, max_events: int = SEND_MAX_EVENTS) -> Iterator[bytes]:
    """A document as ``epcis.capture`` messages, in order: runs of its events, each run a document with the same
    ``@context`` and header, of at most ``max_events`` events and (unless one event alone is larger) ``max_bytes``."""
    size = empty = len(_dumps(_with(document, [])))
    run: list[Any] = []
    for event in document["epcisBody"]["eventList"]:
        encoded = len(_dumps(event)) + 1  # and its comma
        if run and (len(run) == max_events or size + encoded > max_bytes):
            yield _dumps(_with(document, run))
            run, size = [], empty
        run.append(event)
        size += encoded
    if run:
        yield _dumps(_with(document, run))
