"""Decode and check one source message: it becomes an accepted event or a reject with a reason.

Pure: the verdict depends only on the message (bytes, topic, Kafka timestamp) and the clock reading ingest passes
in once per batch.

Future event times. An event time is checked against a *trusted clock*: the message's Kafka timestamp, but never
later than ingest's own clock (``min(kafka timestamp, now)``), plus BATTRACE_FUTURE_TOLERANCE_S. The Kafka timestamp
alone is the producer's CreateTime, which a producer may set to the year 3000 along with its event time. The broker's
append time would be the right clock (``message.timestamp.type=LogAppendTime``, which streams/topics.py sets on the
source topics), but the embedded Tansu broker stores that topic setting and ignores it: records keep the producer's
timestamp. So ingest's clock caps it. Why this stays deterministic under replay: the cap only lowers the clock of a
message stamped later than ingest's clock; once ingest's clock has passed a message's Kafka timestamp (as it has for
every honestly stamped message, at first sight), the trusted clock is that timestamp for good, and a replay reaches
the same verdict. An accepted event is never rejected on a replay (ingest's clock only grows). The limit: a message
stamped ahead of ingest's clock, whose event time lies between ingest's clock and its Kafka timestamp (plus the
tolerance), is rejected when first read and could be accepted by a replay run after that time has come; a year-3000
event stays rejected until then. With a Kafka that honours LogAppendTime, the Kafka timestamp is the broker's and the
cap never bites.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from battrace.domain.battery_code import code_error
from battrace.domain.entities import battery_ids, body_of, entities_of, kind_of
from battrace.domain.report_events import REPORT_DRAFTED, REPORT_REFUSED, REVIEW_KINDS
from battrace.epcis.capture_message import read_message
from battrace.report.canonical import CanonicalizationError, report_hash
from battrace.report.model import parse_rfc3339_ms
from schemas.catalog import ASSAY_RESULT, LICENSED_ENTITY, LOGISTICS_EVENT, MES_EVENT, REPORT_EVENT
from schemas.codec import CodecError, Decoder, canonical_bytes
from schemas.reasons import Reason
from streams import topics

SCHEMA_OF_TOPIC = {
    topics.MES.name: MES_EVENT,
    topics.LOGISTICS.name: LOGISTICS_EVENT,
    topics.ASSAY.name: ASSAY_RESULT,
    topics.REGISTRY.name: LICENSED_ENTITY,
    topics.REPORTS.name: REPORT_EVENT,
}
EARLIEST_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
MAX_MASS_KG = 1e7
TZ_OFFSET = re.compile(r"[+-](0\d|1[0-4]):[0-5]\d")
SMELTER_ID = re.compile(r"CID\d{6}")
HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
ELEMENTS = frozenset(["Co", "Ni", "Li", "Mn", "Al", "Fe", "P", "Cu", "C", "Pb", "Na", "Si", "Ti", "O"])
VEHICLE_CATEGORIES = frozenset(["M1", "N1", "L", "M2", "M3", "N2", "N3"])


@dataclass(frozen=True)
class Accepted:
    event_id: str
    schema: str
    kind: str
    event_time_ms: int
    record: dict[str, Any]
    canonical: bytes
    entities: list[str]


@dataclass(frozen=True)
class Rejected:
    reason: Reason
    detail: str
    event_id: str = ""


class Invalid(Exception):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _positive(name: str, value: float, upper: float = MAX_MASS_KG) -> None:
    if not (math.isfinite(value) and 0 < value <= upper):
        raise Invalid(Reason.OUT_OF_RANGE, f"{name}={value} must be in (0, {upper:g}]")


def _within(name: str, value: float, low: float, high: float) -> None:
    if not (math.isfinite(value) and low <= value <= high):
        raise Invalid(Reason.OUT_OF_RANGE, f"{name}={value} must be in [{low:g}, {high:g}]")


def _present(name: str, value: Any) -> None:
    if not value:
        raise Invalid(Reason.MISSING_VALUE, f"{name} is empty")


def _position(b: dict[str, Any]) -> None:
    _within("lat", b["lat"], -90, 90)
    _within("lon", b["lon"], -180, 180)


def _vin_if_given(vin: str | None) -> None:
    """An optional VIN (collection, dismantling) is absent or 17 characters, like VehicleIntegrated's."""
    if vin is not None and len(vin) != 17:
        raise Invalid(Reason.INVALID_IDENTIFIER, f"vin {vin!r} must have 17 characters")


def _check_mes(kind: str, b: dict[str, Any]) -> None:
    if kind == "Commissioned":
        _positive("capacity_ah", b["capacity_ah"], 1e5)
        _positive("energy_kwh", b["energy_kwh"], 1e5)
        _positive("mass_kg", b["mass_kg"], 1e5)
        _present("certification_number", b["certification_number"])
    elif kind == "Assembled":
        _present("child_ids", b["child_ids"])
    elif kind == "MaterialConsumed":
        _present("inputs", b["inputs"])
        for item in b["inputs"]:
            _present("inputs.lot_id", item["lot_id"])
            _positive("inputs.mass_kg", item["mass_kg"])
    elif kind == "EnergyUsed":
        _within("energy_kwh", b["energy_kwh"], 0, 1e6)
        _within("grid_factor_kg_per_kwh", b["grid_factor_kg_per_kwh"], 0, 2)
    elif kind == "VehicleIntegrated":
        if len(b["vin"]) != 17:
            raise Invalid(Reason.INVALID_IDENTIFIER, f"vin {b['vin']!r} must have 17 characters")
        if b["vehicle_category"] not in VEHICLE_CATEGORIES:
            raise Invalid(Reason.INVALID_IDENTIFIER, f"vehicle_category {b['vehicle_category']!r} is unknown")
    elif kind == "Serviced":
        _within("state_of_health", b["state_of_health"], 0, 1)
    elif kind == "EndOfLifeCollected":
        _present("collector_id", b["collector_id"])
        _vin_if_given(b.get("vin"))
        if b.get("transporter_licence") is not None:
            _present("transporter_licence", b["transporter_licence"])
    elif kind == "Dismantled":
        _present("dismantler_id", b["dismantler_id"])
        _vin_if_given(b.get("vin"))
        _present("output_lot_id", b["output_lot_id"])
        _positive("output_mass_kg", b["output_mass_kg"])
    elif kind == "Repurposed":
        _present("repurposer_id", b["repurposer_id"])
        _present("application", b["application"])
        if b["new_battery_id"] == b["battery_id"]:
            raise Invalid(Reason.INVALID_IDENTIFIER, f"new_battery_id {b['new_battery_id']!r} is the original code")
        if b.get("state_of_health") is not None:
            _within("state_of_health", b["state_of_health"], 0, 1)
    elif kind == "Recycled":
        _present("recycler_id", b["recycler_id"])
        _present("inputs", b["inputs"])
        _present("outputs", b["outputs"])
        for item in [*b["inputs"], *b["outputs"]]:
            _present("lot_id", item["lot_id"])
            _positive("mass_kg", item["mass_kg"])


def _check_logistics(kind: str, r: dict[str, Any], b: dict[str, Any]) -> None:
    _present("consignment_id", r["consignment_id"])
    if kind == "ConsignmentCreated":
        if not b["battery_ids"] and not b["lot_ids"]:
            raise Invalid(Reason.MISSING_VALUE, "a consignment carries at least one battery or lot")
        _positive("gross_mass_kg", b["gross_mass_kg"])
        _present("transporter_id", b["transporter_id"])
    else:
        _position(b)


def _check_assay(r: dict[str, Any]) -> None:
    _present("lot_id", r["lot_id"])
    _positive("lot_mass_kg", r["lot_mass_kg"])
    _present("fractions", r["fractions"])
    total = 0.0
    for f in r["fractions"]:
        if f["element"] not in ELEMENTS:
            raise Invalid(Reason.INVALID_IDENTIFIER, f"element {f['element']!r} is not a known symbol")
        _within(f"fraction[{f['element']}]", f["fraction"], 0, 1)
        total += f["fraction"]
    _within("sum of fractions", total, 0, 1.000001)
    if r["smelter_id"] is not None and not SMELTER_ID.fullmatch(r["smelter_id"]):
        raise Invalid(Reason.INVALID_IDENTIFIER, f"smelter_id {r['smelter_id']!r} is not CID + 6 digits")
    if r["refining_kgco2e_per_kg"] is not None:
        _within("refining_kgco2e_per_kg", r["refining_kgco2e_per_kg"], 0, 200)
    _within("recycled_pre_consumer", r["recycled_pre_consumer"], 0, 1)
    _within("recycled_post_consumer", r["recycled_post_consumer"], 0, 1)
    _within("recycled share total", r["recycled_pre_consumer"] + r["recycled_post_consumer"], 0, 1)
    _within("sample_lat", r["sample_lat"], -90, 90)
    _within("sample_lon", r["sample_lon"], -180, 180)


def _check_registry(r: dict[str, Any]) -> None:
    _present("entity_id", r["entity_id"])
    _present("licence_number", r["licence_number"])
    if r["valid_to"] <= r["valid_from"]:
        raise Invalid(Reason.OUT_OF_RANGE, "valid_to must be after valid_from")


def _json_object(name: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise Invalid(Reason.MALFORMED_REPORT, f"{name} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise Invalid(Reason.MALFORMED_REPORT, f"{name} is not a JSON object")
    return value


def _check_draft_shape(doc: dict[str, Any], body: dict[str, Any]) -> None:
    """What the draft's rows are made of (battrace/store/report_rows.py) is there and well typed: a draft that
    passed ingest can never fail the seal stage."""
    try:
        parse_rfc3339_ms(body.get("delivered_at"))  # type: ignore[arg-type]
    except ValueError as exc:
        raise Invalid(Reason.MALFORMED_REPORT, f"delivered_at: {exc}") from None
    for name in ("missing_fields", "battery_ids", "lot_ids"):
        if not isinstance(body.get(name, []), list):
            raise Invalid(Reason.MALFORMED_REPORT, f"{name} is not a list")
    signatures = doc.get("signatures", [])
    if not isinstance(signatures, list) or not all(isinstance(s, dict) for s in signatures):
        raise Invalid(Reason.MALFORMED_REPORT, "signatures is not a list of signature entries")


def _check_report(kind: str, r: dict[str, Any]) -> None:
    """The step's shape: what it names must agree with itself. Whose signatures count is the verifier's business."""
    _present("shipment_id", r["shipment_id"])
    if not HEX_SHA256.fullmatch(r["report_hash"]):
        raise Invalid(Reason.MALFORMED_REPORT, f"report_hash {r['report_hash'][:80]!r} is not 64 lowercase hex digits")
    if kind == REPORT_DRAFTED:
        doc = _json_object("document", r["document"])
        body = doc.get("report")
        if doc.get("report_hash") != r["report_hash"] or not isinstance(body, dict):
            raise Invalid(Reason.MALFORMED_REPORT, "document does not carry a report with the step's report_hash")
        try:
            recomputed = report_hash(body)
        except CanonicalizationError as exc:
            raise Invalid(Reason.MALFORMED_REPORT, f"report body cannot be canonicalised: {exc}") from None
        if recomputed != r["report_hash"]:
            raise Invalid(Reason.MALFORMED_REPORT, "report_hash is not the hash of the document's report")
        _check_draft_shape(doc, body)
        if body.get("shipment_id") != r["shipment_id"]:
            raise Invalid(Reason.MALFORMED_REPORT, "document is a report about another consignment")
        if r["signature"] or r["reasons"]:
            raise Invalid(Reason.MALFORMED_REPORT, "a draft carries its signatures in its document")
    elif kind in REVIEW_KINDS:
        _json_object("signature", r["signature"])
        if r["document"]:
            raise Invalid(Reason.MALFORMED_REPORT, "a review carries no document")
        if bool(r["reasons"]) != (kind == REPORT_REFUSED):
            raise Invalid(Reason.MALFORMED_REPORT, "a refusal has reasons, a co-signature has none")


def check(schema: str, record: dict[str, Any], trusted_ms: int, future_tolerance_s: int) -> str:
    """Business rules; returns the event kind or raises Invalid. ``trusted_ms``: the trusted clock (module doc)."""
    _present("event_id", record["event_id"])
    kind = kind_of(record)
    if "tz_offset" in record and not TZ_OFFSET.fullmatch(record["tz_offset"]):
        raise Invalid(Reason.INVALID_IDENTIFIER, f"tz_offset {record['tz_offset']!r} is not ±HH:MM")
    t = record["event_time"]
    if t < EARLIEST_MS:
        raise Invalid(Reason.INVALID_TIME, f"event_time {t} ms is before 2000")
    if t > trusted_ms + future_tolerance_s * 1000:
        raise Invalid(
            Reason.INVALID_TIME,
            # the clock reading stays out of the detail: a replay must write the same row
            f"event_time {t} ms is more than {future_tolerance_s} s after the trusted clock "
            "(the Kafka timestamp, capped by ingest's clock)",
        )
    for code in battery_ids(schema, record):
        problem = code_error(code)
        if problem:
            raise Invalid(Reason.INVALID_BATTERY_CODE, f"{code!r}: {problem}")
    b = body_of(record)
    if schema == MES_EVENT:
        _check_mes(kind, b)
    elif schema == LOGISTICS_EVENT:
        _check_logistics(kind, record, b)
    elif schema == ASSAY_RESULT:
        _check_assay(record)
    elif schema == LICENSED_ENTITY:
        _check_registry(record)
    elif schema == REPORT_EVENT:
        _check_report(kind, record)
    return kind


class Validator:
    """Decoder + rules for one worker; keeps the decoder's schema cache warm."""

    def __init__(self, decoder: Decoder | None = None, future_tolerance_s: int = 86_400) -> None:
        self.decoder = decoder or Decoder()
        self.future_tolerance_s = future_tolerance_s

    def validate(
        self, topic: str, value: bytes | None, timestamp_ms: int, now_ms: int | None = None
    ) -> Accepted | Rejected:
        """``timestamp_ms``: the message's Kafka timestamp; ``now_ms``: ingest's clock, which caps it (module doc)."""
        trusted_ms = timestamp_ms if now_ms is None else min(timestamp_ms, now_ms)
        try:
            decoded = self.decoder.decode(value or b"")
        except CodecError as exc:
            return Rejected(Reason(exc.reason), exc.detail)
        record = decoded.record
        event_id = record.get("event_id", "")
        expected = SCHEMA_OF_TOPIC.get(topic)
        if expected is not None and decoded.schema != expected:
            return Rejected(Reason.WRONG_TOPIC, f"{decoded.schema} does not belong on {topic}", event_id)
        try:
            kind = check(decoded.schema, record, trusted_ms, self.future_tolerance_s)
        except Invalid as exc:
            return Rejected(exc.reason, exc.detail, event_id)
        return Accepted(
            event_id=event_id,
            schema=decoded.schema,
            kind=kind,
            event_time_ms=record["event_time"],
            record=record,
            canonical=canonical_bytes(decoded.schema, record),
            entities=entities_of(decoded.schema, record),
        )

    def validate_epcis(
        self, value: bytes, timestamp_ms: int, now_ms: int | None = None
    ) -> list[tuple[int, bytes, Accepted | Rejected]]:
        """(index in the document, original bytes, verdict) of each event of an ``epcis.capture`` message
        (battrace/epcis/capture_message.py): an event that maps to a battrace event is judged as the native message
        it maps to, so it meets every rule a native event meets."""
        verdicts: list[tuple[int, bytes, Accepted | Rejected]] = []
        for outcome in read_message(value):
            if outcome.mapped is None:
                reason = outcome.reason or Reason.EPCIS_UNMAPPABLE
                verdict: Accepted | Rejected = Rejected(reason, outcome.detail, outcome.event_id)
            else:
                verdict = self.validate(outcome.mapped.topic, outcome.mapped.value, timestamp_ms, now_ms)
            verdicts.append((outcome.index, outcome.original, verdict))
        return verdicts
