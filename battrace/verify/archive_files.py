"""An archive on disk: one Parquet file per table and a signed ``manifest.json`` that pins every file.

The layout is ``sealed.parquet``, ``log_entries.parquet``, ``checkpoints.parquet``, ``events.parquet``,
``heads.parquet`` and ``manifest.json``: the archive's month, each file's SHA-256, row count and month, each log's
archive checkpoint (size, root, the signed note) and, for a log that goes on from an earlier archive that was
dropped, its ``start`` (that archive's checkpoint, its compact range and the manifest's SHA-256; the entities' heads
there are ``heads.parquet``), and a ``signature``, a C2SP signed note by the log's own signing keys (the same keys
and code as a checkpoint, battrace/tlog/note.py) whose text is the archive format line and the SHA-256 of the
manifest without its signature in RFC 8785 canonical JSON. A verifier pinning the operator's key can therefore
trust the manifest, the manifest pins the files' bytes, and the files' rows recompute every chain and log
(battrace/verify/archive_check.py). Parquet through pyarrow, JSON canonicalisation through rfc8785: nothing here
is hand-rolled but the layout.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import rfc8785

from battrace.tlog import NoteError, Signer, Verifier, sign_note, verify_note

FORMAT = "battrace-archive/1"
MANIFEST = "manifest.json"
SCHEMAS: dict[str, pa.Schema] = {
    "sealed": pa.schema(
        [
            ("entity_type", pa.string()),
            ("entity_id", pa.string()),
            ("seq", pa.uint64()),
            ("event_id", pa.string()),
            ("event_hash", pa.string()),
            ("prev_hash", pa.string()),
            ("chain_hash", pa.string()),
            ("log_id", pa.string()),
            ("log_index", pa.uint64()),
            ("sealed_at_ms", pa.int64()),
        ]
    ),
    "log_entries": pa.schema(
        [("log_id", pa.string()), ("log_index", pa.uint64()), ("entry", pa.binary()), ("leaf_hash", pa.string())]
    ),
    "checkpoints": pa.schema(
        [
            ("log_id", pa.string()),
            ("size", pa.uint64()),
            ("root", pa.string()),
            ("note", pa.string()),
            ("compact_range", pa.list_(pa.string())),
            ("created_at_ms", pa.int64()),
        ]
    ),
    "heads": pa.schema(  # where a log goes on from an earlier, dropped archive: its entities' heads there
        [
            ("log_id", pa.string()),
            ("position", pa.uint64()),
            ("entity", pa.string()),
            ("length", pa.uint64()),
            ("chain_hash", pa.string()),
        ]
    ),
    "events": pa.schema(
        [
            ("event_id", pa.string()),
            ("kind", pa.string()),
            ("event_time_ms", pa.int64()),
            ("canonical", pa.binary()),
            ("event_hash", pa.string()),
        ]
    ),
}


class ArchiveError(ValueError):
    """A directory that holds no readable archive manifest; the message names the file and the fix."""


class ManifestNotTrusted(ArchiveError):
    """A manifest whose signature does not verify with a pinned key, or that changed after it was signed."""


@dataclass
class Archive:
    """A loaded archive: the verified manifest and each table's rows (None for a file that could not be read)."""

    directory: Path
    manifest: dict[str, Any]
    tables: dict[str, list[dict[str, Any]] | None]
    problems: list[tuple[str, str]]  # (file name, problem): files the manifest does not vouch for


def file_name(table: str) -> str:
    return f"{table}.parquet"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the manifest without its signature, as RFC 8785 canonical JSON."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def signed_text(manifest: Mapping[str, Any]) -> str:
    return f"{FORMAT}\n{manifest['until']}\n{manifest_digest(manifest)}\n"


def write_archive(
    directory: Path,
    until: str,
    tables: Mapping[str, Sequence[Mapping[str, Any]]],
    logs: Mapping[str, Mapping[str, Any]],
    signers: Iterable[Signer],
) -> dict[str, Any]:
    """Write every table as Parquet and the signed manifest; returns the manifest. ``logs``: per log, the archive
    checkpoint's size, root and note."""
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for table, schema in SCHEMAS.items():
        rows = list(tables.get(table, ()))
        path = directory / file_name(table)
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
        files.append(
            {"name": path.name, "table": table, "sha256": sha256_file(path), "rows": len(rows), "month": until}
        )
    manifest: dict[str, Any] = {"format": FORMAT, "until": until, "files": files, "logs": dict(logs)}
    manifest["signature"] = sign_note(signed_text(manifest), list(signers))
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def open_manifest(directory: Path, verifiers: Sequence[Verifier]) -> dict[str, Any]:
    """The manifest, once its signature verifies with a pinned key and covers exactly its content."""
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ArchiveError(f"no {MANIFEST} in {directory}: give the directory `battrace archive --out` wrote") from None
    except (ValueError, RecursionError) as exc:
        raise ArchiveError(f"{path}: not JSON ({str(exc)[:120]})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"{path}: not a {FORMAT} manifest")
    try:
        note = verify_note(str(manifest.get("signature", "")), verifiers)
    except NoteError as exc:
        raise ManifestNotTrusted(f"the manifest signature does not verify with a pinned key ({exc})") from None
    try:
        expected = signed_text(manifest)
    except (KeyError, TypeError, ValueError) as exc:
        raise ArchiveError(f"{path}: malformed manifest ({str(exc)[:120]})") from None
    if note.text != expected:
        raise ManifestNotTrusted("the manifest was changed after it was signed (its signed digest differs)")
    if not isinstance(manifest.get("files"), list) or not isinstance(manifest.get("logs"), dict):
        raise ArchiveError(f"{path}: the manifest lists no files or logs")
    return manifest


def load_archive(directory: Path, verifiers: Sequence[Verifier]) -> Archive:
    """Open the manifest and read each file it lists; a file whose hash or row count differs is a problem named
    after the file, and is still read when Parquet can read it (so the entity it breaks can be named too)."""
    manifest = open_manifest(directory, verifiers)
    archive = Archive(directory, manifest, {}, [])
    listed = {f.get("table"): f for f in manifest["files"] if isinstance(f, dict)}
    for table, schema in SCHEMAS.items():
        entry = listed.get(table)
        name = file_name(table)
        if entry is None or entry.get("name") != name:
            archive.problems.append((name, "not listed in the manifest"))
            archive.tables[table] = None
            continue
        path = directory / name
        if not path.is_file():
            archive.problems.append((name, "missing"))
            archive.tables[table] = None
            continue
        if sha256_file(path) != entry.get("sha256"):
            archive.problems.append((name, "its SHA-256 differs from the manifest's (the file was changed)"))
        try:
            rows = pq.read_table(path, schema=schema).to_pylist()
        except (pa.ArrowException, OSError, ValueError) as exc:
            archive.problems.append((name, f"unreadable as Parquet ({str(exc)[:120]})"))
            archive.tables[table] = None
            continue
        if len(rows) != entry.get("rows"):
            archive.problems.append((name, f"holds {len(rows)} rows, the manifest says {entry.get('rows')}"))
        archive.tables[table] = rows
    return archive
