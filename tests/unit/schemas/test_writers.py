"""The writer catalogue: a newer compatible producer schema is resolved onto the shipped contract once its
fingerprint is known; unknown stays unknown_schema, known-but-unreadable is incompatible_schema; the sealed
canonical bytes are the shipped contract's encoding either way."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from schemas.catalog import MES_EVENT, contract, parse_contract
from schemas.codec import CodecError, Decoder, canonical_bytes, encode, encode_confluent, encode_with
from schemas.reasons import Reason
from schemas.writers import SchemaFileError, WriterCatalogue, schema_files

MES = json.loads(Path("schemas/mes_event.avsc").read_text())
RECORD = {
    "event_id": "e-evolved",
    "event_time": 1_767_225_600_000,
    "tz_offset": "+08:00",
    "site_id": "CN-NINGDE-1",
    "line_id": "L3",
    "body": ("battrace.mes.Assembled", {"parent_id": "X12PEPM27KLPCLX2M2382320", "child_ids": ["a", "b"]}),
}


def _mes(*extra: dict[str, Any], site_type: str = "string") -> dict[str, Any]:
    raw = copy.deepcopy(MES)
    raw["fields"] += list(extra)
    next(f for f in raw["fields"] if f["name"] == "site_id")["type"] = site_type
    return raw


NEWER = _mes({"name": "operator", "type": ["null", "string"], "default": None})
INCOMPATIBLE = _mes(site_type="int")  # the shipped contract reads site_id as a string


def _write(directory: Path, name: str, raw: Any) -> None:
    (directory / name).write_text(json.dumps(raw))


def test_a_newer_writer_is_unknown_until_the_catalogue_has_it(tmp_path: Path) -> None:
    data = encode_with(parse_contract(NEWER), {**RECORD, "operator": "ann"})
    with pytest.raises(CodecError) as err:
        Decoder().decode(data)
    assert err.value.reason == Reason.UNKNOWN_SCHEMA
    _write(tmp_path, "mes_event_v2.avsc", NEWER)
    decoded = Decoder(WriterCatalogue(schema_files(tmp_path))).decode(data)
    assert decoded.schema == MES_EVENT
    assert decoded.record == RECORD  # resolved onto the shipped contract: the extra field is not read


def test_what_is_sealed_is_the_shipped_contracts_encoding(tmp_path: Path) -> None:
    _write(tmp_path, "v2.avsc", NEWER)
    decoded = Decoder(WriterCatalogue(schema_files(tmp_path))).decode(
        encode_with(parse_contract(NEWER), {**RECORD, "operator": "ann"})
    )
    canonical = canonical_bytes(decoded.schema, decoded.record)
    assert canonical == encode(MES_EVENT, RECORD)  # as if the producer had written the shipped contract
    assert canonical[2:10] == contract(MES_EVENT).fingerprint
    assert Decoder().decode(canonical).record == RECORD  # verify needs no catalogue to read what is stored


def test_a_reader_default_fills_a_field_an_older_writer_lacks(tmp_path: Path) -> None:
    older = copy.deepcopy(MES)
    older["fields"] = [f for f in older["fields"] if f["name"] != "line_id"]  # line_id has default ""
    _write(tmp_path, "older.avsc", older)
    record = {k: v for k, v in RECORD.items() if k != "line_id"}
    decoded = Decoder(WriterCatalogue(schema_files(tmp_path))).decode(encode_with(parse_contract(older), record))
    assert decoded.record == {**RECORD, "line_id": ""}


def test_an_incompatible_writer_is_rejected_with_its_problem(tmp_path: Path) -> None:
    _write(tmp_path, "bad.avsc", INCOMPATIBLE)
    data = encode_with(parse_contract(INCOMPATIBLE), {**RECORD, "site_id": 7})
    with pytest.raises(CodecError) as err:
        Decoder(WriterCatalogue(schema_files(tmp_path))).decode(data)
    assert err.value.reason == Reason.INCOMPATIBLE_SCHEMA
    assert "site_id: type changed from int to string" in err.value.detail


def test_a_writer_of_no_battrace_contract_stays_unknown(tmp_path: Path) -> None:
    other = {"type": "record", "name": "acme.Thing", "fields": [{"name": "a", "type": "int"}]}
    _write(tmp_path, "other.avsc", other)
    with pytest.raises(CodecError) as err:
        Decoder(WriterCatalogue(schema_files(tmp_path))).decode(encode_with(parse_contract(other), {"a": 1}))
    assert err.value.reason == Reason.UNKNOWN_SCHEMA and "acme.Thing" in err.value.detail


def test_confluent_ids_resolve_through_the_same_catalogue() -> None:
    decoder = Decoder()
    decoder.register_confluent(3, NEWER)
    decoder.register_confluent(4, INCOMPATIBLE)
    shipped_body = encode_confluent(3, MES_EVENT, RECORD)[5:]
    newer_body = encode_with(parse_contract(NEWER), {**RECORD, "operator": None})[10:]
    assert decoder.decode(b"\x00\x00\x00\x00\x03" + newer_body).record == RECORD
    with pytest.raises(CodecError) as err:
        decoder.decode(b"\x00\x00\x00\x00\x04" + shipped_body)  # judged on its schema before its body is read
    assert err.value.reason == Reason.INCOMPATIBLE_SCHEMA


def test_a_schema_the_registry_hands_out_that_is_no_schema_is_unknown() -> None:
    decoder = Decoder()
    decoder.register_confluent(5, {"type": "record", "name": "broken"})  # no fields
    with pytest.raises(CodecError) as err:
        decoder.decode(b"\x00\x00\x00\x00\x05\x00")
    assert err.value.reason == Reason.UNKNOWN_SCHEMA


def test_a_schema_directory_with_a_broken_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "broken.avsc").write_text("{")
    with pytest.raises(SchemaFileError, match=r"broken\.avsc is not an Avro schema .*BATTRACE_SCHEMA_DIR"):
        schema_files(tmp_path)
    with pytest.raises(SchemaFileError, match="is not a directory"):
        schema_files(tmp_path / "missing")


class _Subjects:
    """An in-memory stand-in with the three lookups the catalogue makes of schemas.registry.Registry (the HTTP side
    is tests/integration/schemas/test_schema_evolution.py's)."""

    def __init__(self) -> None:
        self.subjects: dict[str, list[tuple[int, Any]]] = {}
        self.fetched: list[tuple[str, int]] = []

    def schema(self, schema_id: int) -> Any:
        return next(raw for versions in self.subjects.values() for i, raw in versions if i == schema_id)

    def versions(self, subject: str) -> list[int]:
        return list(range(1, len(self.subjects.get(subject, [])) + 1))

    def version(self, subject: str, version: int) -> tuple[int, Any]:
        self.fetched.append((subject, version))
        return self.subjects[subject][version - 1]


def test_an_unknown_fingerprint_is_looked_up_among_the_subjects_versions_once_each() -> None:
    registry = _Subjects()
    writers = WriterCatalogue(registry=registry, subjects=["mes.events-value"])  # type: ignore[arg-type]
    newer = parse_contract(NEWER)
    assert writers.by_fingerprint(newer.fingerprint) is None  # not registered yet: unknown, nothing cached
    registry.subjects["mes.events-value"] = [(1, MES), (2, NEWER)]
    registry.subjects["other-value"] = [(3, INCOMPATIBLE)]  # not a subject the catalogue reads
    found = writers.by_fingerprint(newer.fingerprint)
    assert found is not None and found.reader == contract(MES_EVENT) and found.problems == ()
    assert writers.by_fingerprint(parse_contract(INCOMPATIBLE).fingerprint) is None
    assert registry.fetched == [("mes.events-value", 1), ("mes.events-value", 2)]  # each version fetched once
    assert writers.by_id(2) is found  # what the scan read is known by id too
