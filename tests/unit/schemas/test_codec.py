"""Avro framing: both wire formats, the published fingerprint vector, corrupt input."""

from __future__ import annotations

import json
from pathlib import Path

import avro.schema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.catalog import ASSAY_RESULT, LICENSED_ENTITY, MES_EVENT, contract, crc64_fingerprint
from schemas.codec import CodecError, Decoder, encode, encode_confluent

RECORD = {
    "event_id": "e1",
    "event_time": 1_767_225_600_000,
    "tz_offset": "+08:00",
    "site_id": "CN-NINGDE-1",
    "line_id": "L3",
    "body": ("battrace.mes.Assembled", {"parent_id": "X12PEPM27KLPCLX2M2382320", "child_ids": ["a", "b"]}),
}
LICENCE = {
    "event_id": "r1",
    "event_time": 1_767_225_600_000,
    "entity_id": "T-1",
    "name": "Freight Co",
    "role": "TRANSPORTER",
    "licence_number": "LIC-1",
    "valid_from": 1_700_000_000_000,
    "valid_to": 1_900_000_000_000,
    "region": "CN-FJ",
    "revoked": False,
    "zones": [],  # the contract's default: a round trip gives it back
}


def test_crc64_avro_matches_the_spec_vector() -> None:
    # Apache Avro share/test/data/schema-tests.txt: "null" -> fingerprint 7195948357588979594
    assert int.from_bytes(crc64_fingerprint("null"), "little") == 7195948357588979594


def test_fingerprint_agrees_with_the_reference_avro_library() -> None:
    # The registry schema has no logical types in its PCF-relevant parts except timestamps; compare on a copy
    # without them (the avro library keeps {"type": "long"} wrappers the spec's PCF drops).
    raw = json.loads(json.dumps({"type": "record", "name": "x.Y", "fields": [{"name": "a", "type": "string"}]}))
    assert crc64_fingerprint(raw) == avro.schema.parse(json.dumps(raw)).fingerprint()


def test_single_object_round_trip() -> None:
    data = encode(MES_EVENT, RECORD)
    assert data[:2] == b"\xc3\x01" and data[2:10] == contract(MES_EVENT).fingerprint
    decoded = Decoder().decode(data)
    assert decoded.schema == MES_EVENT
    assert decoded.record == RECORD


def test_confluent_round_trip_with_registered_id() -> None:
    decoder = Decoder()
    decoder.register_confluent(42, json.loads(Path("schemas/registry_entity.avsc").read_text()))
    data = encode_confluent(42, LICENSED_ENTITY, LICENCE)
    assert data[:5] == b"\x00\x00\x00\x00\x2a"
    assert decoder.decode(data).record == LICENCE


def test_confluent_unknown_id_without_registry() -> None:
    with pytest.raises(CodecError) as err:
        Decoder().decode(encode_confluent(7, LICENSED_ENTITY, LICENCE))
    assert err.value.reason == "unknown_schema"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "bad_framing"),
        (b"garbage", "bad_framing"),
        (b"\xc3\x01\x00", "bad_framing"),
        (b"\xc3\x01" + b"\x01" * 8 + b"\x02a", "unknown_schema"),
        (b"\x00\x00\x00", "bad_framing"),
    ],
)
def test_corrupt_frames(data: bytes, reason: str) -> None:
    with pytest.raises(CodecError) as err:
        Decoder().decode(data)
    assert err.value.reason == reason


def test_truncated_and_padded_bodies_are_undecodable() -> None:
    data = encode(MES_EVENT, RECORD)
    for broken in (data[:12], data[:-3], data + b"\x00\x01"):
        with pytest.raises(CodecError) as err:
            Decoder().decode(broken)
        assert err.value.reason == "undecodable"


@given(st.binary(max_size=64))
def test_random_bytes_never_crash(blob: bytes) -> None:
    for data in (blob, b"\xc3\x01" + contract(ASSAY_RESULT).fingerprint + blob):
        try:
            Decoder().decode(data)
        except CodecError as exc:
            assert exc.reason in {"bad_framing", "unknown_schema", "undecodable"}
