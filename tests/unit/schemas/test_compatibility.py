"""Schema compatibility: the Avro specification's resolution rules, one named problem per break, and the same verdict
as the reference implementation (Apache Avro's ``avro.compatibility``, an independent implementation of the rules)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import avro.compatibility
import avro.schema
import pytest

from schemas.compatibility import problems

MES = json.loads(Path("schemas/mes_event.avsc").read_text())
CONTRACTS = sorted(Path("schemas").glob("*.avsc"))


def _record(*fields: dict[str, Any], name: str = "x.R") -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields)}


def _reference_compatible(reader: Any, writer: Any) -> bool:
    result = avro.compatibility.ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    return result.compatibility is avro.compatibility.SchemaCompatibilityType.compatible


def _field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in schema["fields"] if f["name"] == name)


def _commissioned(schema: dict[str, Any]) -> dict[str, Any]:
    return next(b for b in _field(schema, "body")["type"] if b["name"] == "Commissioned")


def _mes(change: Any) -> dict[str, Any]:
    changed = copy.deepcopy(MES)
    change(changed)
    return changed


# (reader, writer, the problem lines expected; empty = compatible). The rules: Avro 1.12 specification, "Schema
# Resolution" (https://avro.apache.org/docs/1.12.0/specification/#schema-resolution).
CASES = [
    pytest.param(_record({"name": "a", "type": "int"}), _record({"name": "a", "type": "int"}), [], id="same"),
    pytest.param(
        _record({"name": "a", "type": "int"}, {"name": "b", "type": ["null", "string"], "default": None}),
        _record({"name": "a", "type": "int"}),
        [],
        id="field added with a default",
    ),
    pytest.param(
        _record({"name": "a", "type": "int"}, {"name": "b", "type": "string"}),
        _record({"name": "a", "type": "int"}),
        ["b: field added without a default (the writer's data has none)"],
        id="field added without a default",
    ),
    pytest.param(
        _record({"name": "a", "type": "int"}),
        _record({"name": "a", "type": "int"}, {"name": "b", "type": "string"}),
        [],
        id="field removed (the reader skips it)",
    ),
    pytest.param(_record({"name": "a", "type": "long"}), _record({"name": "a", "type": "int"}), [], id="int promoted"),
    pytest.param(
        _record({"name": "a", "type": "int"}),
        _record({"name": "a", "type": "long"}),
        ["a: type changed from long to int"],
        id="long narrowed to int",
    ),
    pytest.param(
        _record({"name": "a", "type": "string"}), _record({"name": "a", "type": "bytes"}), [], id="bytes as string"
    ),
    pytest.param(
        _record({"name": "a", "type": {"type": "enum", "name": "E", "symbols": ["X"]}}),
        _record({"name": "a", "type": {"type": "enum", "name": "E", "symbols": ["X", "Y"]}}),
        ["a: enum symbol(s) removed without an enum default: Y"],
        id="enum symbol removed",
    ),
    pytest.param(
        _record({"name": "a", "type": {"type": "enum", "name": "E", "symbols": ["X", "OTHER"], "default": "OTHER"}}),
        _record({"name": "a", "type": {"type": "enum", "name": "E", "symbols": ["X", "Y"]}}),
        [],
        id="enum symbol removed, reader has an enum default",
    ),
    pytest.param(
        _record({"name": "a", "type": ["null", "string"]}),
        _record({"name": "a", "type": ["null", "string", "int"]}),
        ["a: the reader's union has no int, which the writer writes"],
        id="union branch removed",
    ),
    pytest.param(
        _record({"name": "a", "type": ["null", "string"]}),
        _record({"name": "a", "type": "string"}),
        [],
        id="plain type widened to a union",
    ),
    pytest.param(
        _record({"name": "a", "type": "string"}),
        _record({"name": "a", "type": ["null", "string"]}),
        ["a: the writer may write null, the reader reads only string"],
        id="union narrowed to a plain type",
    ),
    pytest.param(
        _record({"name": "a", "type": {"type": "fixed", "name": "F", "size": 4}}),
        _record({"name": "a", "type": {"type": "fixed", "name": "F", "size": 8}}),
        ["a: fixed size changed from 8 to 4"],
        id="fixed resized",
    ),
    pytest.param(
        _record({"name": "a", "type": {"type": "array", "items": "int"}}),
        _record({"name": "a", "type": {"type": "array", "items": "string"}}),
        ["a[]: type changed from string to int"],
        id="array items changed",
    ),
    pytest.param(
        _record({"name": "a", "type": "int"}, name="x.S"),
        _record({"name": "a", "type": "int"}),
        ["(top level): record renamed from x.R to x.S without an alias"],
        id="record renamed",
    ),
    pytest.param(
        {**_record({"name": "a", "type": "int"}, name="x.S"), "aliases": ["x.R"]},
        _record({"name": "a", "type": "int"}),
        [],
        id="record renamed with an alias",
    ),
    pytest.param(
        _record({"name": "b", "type": "int", "aliases": ["a"]}),
        _record({"name": "a", "type": "int"}),
        [],
        id="field renamed with an alias",
    ),
    pytest.param(
        _record({"name": "next", "type": ["null", "x.R"], "default": None}, {"name": "v", "type": "long"}),
        _record({"name": "next", "type": ["null", "x.R"], "default": None}, {"name": "v", "type": "int"}),
        [],
        id="recursive type",
    ),
]


@pytest.mark.parametrize(("reader", "writer", "expected"), CASES)
def test_each_rule_names_its_problem(reader: Any, writer: Any, expected: list[str]) -> None:
    assert problems(reader, writer) == expected


@pytest.mark.parametrize(("reader", "writer", "expected"), CASES)
def test_the_verdict_agrees_with_the_reference_implementation(reader: Any, writer: Any, expected: list[str]) -> None:
    assert (not problems(reader, writer)) == _reference_compatible(reader, writer)


def _add_optional(s: dict[str, Any]) -> None:
    s["fields"].append({"name": "operator", "type": ["null", "string"], "default": None})


def _add_required(s: dict[str, Any]) -> None:
    s["fields"].append({"name": "operator", "type": "string"})


def _site_as_int(s: dict[str, Any]) -> None:
    _field(s, "site_id")["type"] = "int"


def _drop_chemistry(s: dict[str, Any]) -> None:
    _field(_commissioned(s), "chemistry")["type"]["symbols"].remove("LTO")


def _drop_recycled(s: dict[str, Any]) -> None:
    _field(s, "body")["type"] = [b for b in _field(s, "body")["type"] if b["name"] != "Recycled"]


def _drop_site(s: dict[str, Any]) -> None:
    s["fields"] = [f for f in s["fields"] if f["name"] != "site_id"]


MES_CHANGES = [
    pytest.param(_add_optional, [], id="optional field added"),
    pytest.param(_add_required, ["operator: field added without a default (the writer's data has none)"], id="req"),
    pytest.param(_site_as_int, ["site_id: type changed from string to int"], id="site_id int"),
    pytest.param(
        _drop_chemistry,
        ["body<Commissioned>.chemistry: enum symbol(s) removed without an enum default: LTO"],
        id="enum",
    ),
    pytest.param(
        _drop_recycled,
        ["body: the reader's union has no record battrace.mes.Recycled, which the writer writes"],
        id="event kind removed",
    ),
    pytest.param(_drop_site, [], id="site_id removed"),
]


@pytest.mark.parametrize(("change", "expected"), MES_CHANGES)
def test_changes_to_the_mes_contract_read_as_backward_checks(change: Any, expected: list[str]) -> None:
    changed = _mes(change)
    assert problems(changed, MES) == expected  # the changed contract reads what the released one wrote
    assert (not expected) == _reference_compatible(changed, MES)


def test_a_field_removed_without_a_default_breaks_the_other_direction() -> None:
    """Old readers (the shipped contract) cannot read a newer writer that dropped a field they need."""
    assert problems(MES, _mes(_drop_site)) == ["site_id: field added without a default (the writer's data has none)"]


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.name)
def test_every_shipped_contract_reads_itself(path: Path) -> None:
    raw = json.loads(path.read_text())
    assert problems(raw, raw) == []
