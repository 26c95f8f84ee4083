"""Can a reader schema read what a writer schema wrote? One line per problem, by field path.

The rules are the Avro specification's "Schema Resolution" (1.11/1.12): the same rules fastavro applies when it
reads a body with ``schemaless_reader(buf, writer, reader)``. fastavro applies them lazily, to the data it meets (a
union branch never written is never checked), and has no schema-against-schema check; the reference ``avro`` library
has one (``avro.compatibility``), but it reports problems as a set of messages and a separate set of locations that
cannot be paired, and names a field added without a default only by its bare name. A release check and a reject
reason must say *which* field broke and *how*, so the walk is written here (about a hundred lines, one rule per
branch); tests/unit/schemas/test_compatibility.py checks that its verdict agrees with the reference library's.

Used both ways round: `battrace schemas check` asks whether a changed contract (reader) reads data written under the
released one (writer): BACKWARD compatibility; ingest asks whether the shipped contract (reader) reads a producer's
newer schema (writer) before it accepts that producer's events.
"""

from __future__ import annotations

from typing import Any

import fastavro

PRIMITIVES = frozenset(["null", "boolean", "int", "long", "float", "double", "bytes", "string"])
NAMED = frozenset(["record", "error", "enum", "fixed"])
# writer type -> reader types it is promoted to (the specification's promotion table)
PROMOTIONS = {
    "int": {"long", "float", "double"},
    "long": {"float", "double"},
    "float": {"double"},
    "string": {"bytes"},
    "bytes": {"string"},
}


class _Schema:
    """A parsed schema with its named types, so that a by-name reference can be followed."""

    def __init__(self, raw: Any) -> None:
        self.named: dict[str, Any] = {}
        self.root = fastavro.parse_schema(raw, named_schemas=self.named, _write_hint=False)

    def deref(self, node: Any) -> Any:
        """A schema node with a reference to a named type replaced by the type, and ``{"type": "long"}`` by "long"."""
        while True:
            if isinstance(node, str) and node in self.named:
                node = self.named[node]
            elif isinstance(node, dict) and not isinstance(node.get("type"), list) and node.get("type") in PRIMITIVES:
                node = node["type"]
            elif isinstance(node, dict) and isinstance(node.get("type"), dict):
                node = node["type"]  # {"type": {"type": "array", ...}}
            else:
                return node


def _kind(node: Any) -> str:
    if isinstance(node, list):
        return "union"
    if isinstance(node, str):
        return node
    return "record" if node["type"] == "error" else node["type"]


def _describe(node: Any) -> str:
    kind = _kind(node)
    if kind in NAMED:
        return f"{kind} {node['name']}"
    if kind == "array":
        return "array"
    if kind == "map":
        return "map"
    if kind == "union":
        return "union"
    return kind


def _names(node: Any) -> set[str]:
    """The full name of a named type and its aliases."""
    return {node["name"], *node.get("aliases", [])}


def _into(path: str, branch: Any) -> str:
    """The path into a union branch: named branches by their short name, ``body<Commissioned>.chemistry``."""
    return f"{path}<{branch['name'].rsplit('.', 1)[-1]}>" if _kind(branch) in NAMED else path


def _matches(reader: Any, writer: Any) -> bool:
    """The specification's shallow match: which branch of a reader's union a writer's value goes to."""
    rk, wk = _kind(reader), _kind(writer)
    if rk in NAMED or wk in NAMED:
        return rk == wk and writer["name"] in _names(reader)
    return rk == wk or rk in PROMOTIONS.get(wk, set())


class _Walk:
    def __init__(self, reader: _Schema, writer: _Schema) -> None:
        self.reader, self.writer = reader, writer
        self.problems: list[str] = []
        self._seen: set[tuple[int, int]] = set()  # (reader node, writer node) pairs in progress: recursive types

    def check(self, r: Any, w: Any, path: str) -> None:
        r, w = self.reader.deref(r), self.writer.deref(w)
        pair = (id(r), id(w))
        if pair in self._seen:
            return
        if isinstance(r, (dict, list)):
            self._seen.add(pair)
        rk, wk = _kind(r), _kind(w)
        if wk == "union":
            for branch in w:
                b = self.writer.deref(branch)
                if rk != "union" and not _matches(r, b):
                    self.problems.append(
                        f"{path}: the writer may write {_describe(b)}, the reader reads only {_describe(r)}"
                    )
                else:
                    self.check(r, branch, path if rk == "union" else _into(path, b))
            return
        if rk == "union":
            branch = next((b for b in r if _matches(self.reader.deref(b), w)), None)
            if branch is None:
                self.problems.append(f"{path}: the reader's union has no {_describe(w)}, which the writer writes")
            else:
                self.check(branch, w, _into(path, w))
            return
        if not _matches(r, w):
            if rk in NAMED and rk == wk:
                self.problems.append(f"{path}: {rk} renamed from {w['name']} to {r['name']} without an alias")
            else:
                self.problems.append(f"{path}: type changed from {_describe(w)} to {_describe(r)}")
            return
        if rk == "record":
            self._record(r, w, path)
        elif rk == "enum":
            removed = [s for s in w["symbols"] if s not in r["symbols"]]
            if removed and "default" not in r:
                self.problems.append(f"{path}: enum symbol(s) removed without an enum default: {', '.join(removed)}")
        elif rk == "fixed" and r["size"] != w["size"]:
            self.problems.append(f"{path}: fixed size changed from {w['size']} to {r['size']}")
        elif rk == "array":
            self.check(r["items"], w["items"], f"{path}[]")
        elif rk == "map":
            self.check(r["values"], w["values"], f"{path}{{}}")

    def _record(self, r: dict[str, Any], w: dict[str, Any], path: str) -> None:
        written = {f["name"]: f for f in w["fields"]}
        for field in r["fields"]:
            name = field["name"]
            source = next((written[n] for n in (name, *field.get("aliases", [])) if n in written), None)
            where = f"{path}.{name}" if path else name
            if source is None:
                if "default" not in field:
                    self.problems.append(f"{where}: field added without a default (the writer's data has none)")
            else:
                self.check(field["type"], source["type"], where)


def problems(reader_raw: Any, writer_raw: Any) -> list[str]:
    """Why the reader schema cannot read data written with the writer schema; empty when it can."""
    reader, writer = _Schema(reader_raw), _Schema(writer_raw)
    walk = _Walk(reader, writer)
    walk.check(reader.root, writer.root, "")
    return [f"(top level){p}" if p.startswith(": ") else p for p in walk.problems]
