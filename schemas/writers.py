"""The writer schemas ingest knows, by single-object fingerprint and by registry id, each judged once.

A producer may write with a newer schema than the contract battrace ships (a field added with a default, say). Its
events are read by resolving the writer schema onto the shipped contract (the reader), which needs the writer schema
itself: the wire carries only its fingerprint (single-object framing) or its registry id (Confluent framing). The
catalogue holds the writer schemas that can be found:

- the shipped contracts themselves;
- the ``.avsc`` files of a schema directory (BATTRACE_SCHEMA_DIR), fingerprinted when the catalogue is made;
- with a registry (BATTRACE_SCHEMA_REGISTRY_URL): every schema id on first sight, and, for a fingerprint not known
  yet, the versions registered under the given subjects (the source topics' value subjects).

Each writer schema is compared with the contract of its name once, when it enters the catalogue
(schemas/compatibility.py): a fingerprint the catalogue cannot find is ``unknown_schema``; a schema of a battrace
contract's name that the contract cannot read is ``incompatible_schema``, with the problems named.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.catalog import Contract, contracts, parse_contract
from schemas.compatibility import problems
from schemas.registry import Registry, SchemaNotFound


class SchemaFileError(ValueError):
    """A schema file that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class Writer:
    """A writer schema with the verdict on it against the shipped contract of the same name."""

    schema: Contract
    reader: Contract | None  # the shipped contract it resolves onto; None when its name is no battrace contract
    problems: tuple[str, ...] = ()  # why the reader cannot read it; empty when it can

    @property
    def same_as_reader(self) -> bool:
        return self.reader is not None and self.reader.fingerprint == self.schema.fingerprint


def judge(schema: Contract) -> Writer:
    reader = contracts().get(schema.name)
    if reader is None or reader.fingerprint == schema.fingerprint:
        return Writer(schema, reader)
    try:
        found = tuple(problems(reader.raw, schema.raw))
    except Exception as exc:  # a registry's or a directory's schema is input: never a crash
        found = (f"cannot be compared with {reader.name}: {type(exc).__name__}: {exc}",)
    return Writer(schema, reader, found)


def _parse(raw: Any) -> Contract | None:
    try:
        return parse_contract(raw)
    except Exception:  # not a schema fastavro accepts: as unknown as a schema that is not there
        return None


def schema_files(directory: Path) -> list[Contract]:
    """The parsed ``.avsc`` files of a directory, sorted by name; a file that is not a schema is named."""
    if not directory.is_dir():
        raise SchemaFileError(f"BATTRACE_SCHEMA_DIR={directory} is not a directory: create it or unset the setting")
    out = []
    for path in sorted(directory.glob("*.avsc")):
        try:
            out.append(parse_contract(json.loads(path.read_text())))
        except Exception as exc:
            raise SchemaFileError(
                f"{path} is not an Avro schema ({type(exc).__name__}: {exc}): fix it or move it out of "
                "BATTRACE_SCHEMA_DIR"
            ) from None
    return out


class WriterCatalogue:
    """Writer schemas by fingerprint and by registry id; registry answers are kept for the life of the process."""

    def __init__(
        self, files: Iterable[Contract] = (), registry: Registry | None = None, subjects: Sequence[str] = ()
    ) -> None:
        self.registry = registry
        self.subjects = tuple(subjects)
        self._by_fingerprint: dict[bytes, Writer] = {}
        self._by_id: dict[int, Writer | None] = {}
        self._scanned: set[tuple[str, int]] = set()
        for schema in (*contracts().values(), *files):
            self._by_fingerprint.setdefault(schema.fingerprint, judge(schema))

    def by_fingerprint(self, fingerprint: bytes) -> Writer | None:
        """The writer schema of a single-object fingerprint, or None. With a registry, a fingerprint not known yet
        is looked up among the subjects' versions (only versions not read before are fetched)."""
        writer = self._by_fingerprint.get(fingerprint)
        if writer is None and self.registry is not None:
            self._scan()
            writer = self._by_fingerprint.get(fingerprint)
        return writer

    def by_id(self, schema_id: int) -> Writer | None:
        """The writer schema of a Confluent schema id, or None (no registry, or the registry has no such id).
        Raises schemas.registry.RegistryUnavailable when the registry does not answer."""
        if schema_id not in self._by_id:
            if self.registry is None:
                return None
            try:
                raw = self.registry.schema(schema_id)
            except SchemaNotFound:
                return None  # not cached: it may be registered later
            self.add_id(schema_id, raw)
        return self._by_id[schema_id]

    def add_id(self, schema_id: int, raw: Any) -> None:
        """Make a schema id known (from the registry, or given by a caller that already knows it)."""
        schema = _parse(raw)
        writer = None if schema is None else self._by_fingerprint.get(schema.fingerprint) or judge(schema)
        self._by_id[schema_id] = writer
        if writer is not None:
            self._by_fingerprint.setdefault(writer.schema.fingerprint, writer)

    def _scan(self) -> None:
        assert self.registry is not None
        for subject in self.subjects:
            for version in self.registry.versions(subject):
                if (subject, version) in self._scanned:
                    continue
                schema_id, raw = self.registry.version(subject, version)
                self.add_id(schema_id, raw)
                self._scanned.add((subject, version))


def catalogue(
    schema_dir: Path | None = None, registry_url: str = "", subjects: Sequence[str] = ()
) -> WriterCatalogue:
    """The catalogue the settings describe (BATTRACE_SCHEMA_DIR, BATTRACE_SCHEMA_REGISTRY_URL)."""
    files = schema_files(schema_dir) if schema_dir is not None else []
    registry = Registry(registry_url) if registry_url else None
    return WriterCatalogue(files, registry, subjects)
