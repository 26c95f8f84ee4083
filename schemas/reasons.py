"""Machine-readable reject reasons: the closed vocabulary of the reject topic and table."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    BAD_FRAMING = "bad_framing"  # neither single-object (C3 01) nor Confluent (00) framing
    UNKNOWN_SCHEMA = "unknown_schema"  # fingerprint / schema id not in the writer catalogue, or no battrace contract
    INCOMPATIBLE_SCHEMA = "incompatible_schema"  # a known writer schema the shipped contract of its name cannot read
    UNDECODABLE = "undecodable"  # framing fine, Avro body is not
    WRONG_TOPIC = "wrong_topic"  # a valid contract, published to another source's topic
    MISSING_VALUE = "missing_value"  # an empty id or an empty list that needs at least one item
    INVALID_BATTERY_CODE = "invalid_battery_code"  # not a GB/T 34014 code
    INVALID_IDENTIFIER = "invalid_identifier"  # smelter CID, VIN, time-zone offset ...
    OUT_OF_RANGE = "out_of_range"  # a quantity outside its physical range
    INVALID_TIME = "invalid_time"  # before 2000, or after the trusted clock + tolerance (processors/validate.py)
    DUPLICATE = "duplicate"  # an event id that was already accepted from another offset
    MALFORMED_REPORT = "malformed_report"  # a report step whose hash, document or review does not agree with itself
    OVERSIZE = "oversize"  # a message over BATTRACE_MAX_EVENT_BYTES, or an event too big for a trace.chain pack
    EPCIS_INVALID = "epcis_invalid"  # epcis.capture: not an EPCIS 2.0 JSON document, or an event that breaks its schema
    EPCIS_UNMAPPABLE = "epcis_unmappable"  # a valid EPCIS event that is no battrace event (battrace/epcis/capture.py)
