"""`battrace archive`: write the sealed history up to a month as signed Parquet files, and optionally drop it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from battrace.cli.common import keyring, open_store, settings_or_exit, trusted_keys

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def month_end(until: str) -> datetime:
    """The first instant after the month ``YYYY-MM`` (UTC): checkpoints signed before it are archived."""
    match = MONTH.match(until)
    if match is None:
        raise click.UsageError(f"--until {until[:20]!r}: give a month as YYYY-MM, e.g. 2026-03")
    year, month = int(match[1]), int(match[2])
    return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


@click.command(name="archive")
@click.option("--until", "until", required=True, metavar="YYYY-MM", help="last month to archive (by checkpoint time)")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="directory")
@click.option("--drop", is_flag=True, help="then remove the archived rows from the live store")
def archive_cmd(until: str, out: Path, drop: bool) -> None:
    """Archive every log up to its newest checkpoint signed by the end of --until: the sealed rows, log entries,
    checkpoints and event bytes as Parquet, with a manifest signed by the log's keys. A log whose beginning an
    earlier archive dropped is archived from there. The archive is verified before anything is dropped, and --drop
    records where each log now starts (table `archives`) before it deletes; `battrace verify --archive DIR` checks
    an archive later with no store.

    Exits 2 on a malformed month, an existing archive in --out or no signing key; 1 if nothing is signed by then.
    """
    cutoff = month_end(until)
    if (out / "manifest.json").exists():
        raise click.UsageError(f"{out} already holds an archive: give another --out directory")
    settings = settings_or_exit()
    signers = keyring(settings).signers(generate=False)
    if not signers:
        raise click.UsageError(f"no signing key under {settings.keys_dir}: archives are signed with the log's keys")
    verifiers = trusted_keys(settings, ())
    from battrace.store import archive_marks
    from battrace.store.archive_source import archive_rows
    from battrace.store.client import apply_ddl
    from battrace.verify.archive_check import verify_archive
    from battrace.verify.archive_files import sha256_file, write_archive

    client = open_store(settings)
    try:
        previous = dropped_marks(client)
        rows = archive_rows(client, cutoff, {log_id: mark.size for log_id, mark in previous.items()})
        if not rows.boundaries:
            raise click.ClickException(
                f"no checkpoint was signed before {cutoff:%Y-%m-%d} past what is archived already: nothing to archive"
            )
        previous = {log_id: mark for log_id, mark in previous.items() if log_id in rows.boundaries}
        earlier_heads = archive_marks.heads(client)
        rows.tables["heads"] = [
            {
                "log_id": h.log_id,
                "position": h.position,
                "entity": h.entity,
                "length": h.length,
                "chain_hash": h.chain_hash,
            }
            for log_id in sorted(previous)
            for h in earlier_heads.get(log_id, [])
        ]
        _require_whole_logs(rows, {log_id: mark.size for log_id, mark in previous.items()})
        logs: dict[str, dict[str, Any]] = {
            log_id: {"size": cp.size, "root": cp.root, "checkpoint": cp.note}
            for log_id, cp in sorted(rows.boundaries.items())
        }
        for log_id, mark in previous.items():
            logs[log_id]["start"] = {
                "size": mark.size,
                "root": mark.root,
                "checkpoint": mark.note,
                "compact_range": list(mark.compact_range),
                "until": mark.until,
                "manifest_sha256": mark.manifest_sha256,
            }
        write_archive(out, until, rows.tables, logs, signers)
        report = verify_archive(out, verifiers)
        if not report.ok:
            first = report.failures[0] if report.failures else {"entity": out, "problem": "no chain"}
            raise click.ClickException(
                f"the archive written to {out} does not verify ({first['entity']}: {first['problem']}); "
                "nothing was dropped: run `battrace verify --all`"
            )
        digest = sha256_file(out / "manifest.json")
        marks = [
            archive_marks.ArchiveMark(log_id, cp.size, cp.root, cp.note, cp.compact_range, until, digest)
            for log_id, cp in sorted(rows.boundaries.items())
        ]
        if drop:  # marks first: a drop cut short leaves rows the marks also describe, never a gap
            apply_ddl(client)  # a store made before archives existed gets their tables
            heads = _heads(rows.tables["log_entries"], rows.boundaries, {k: earlier_heads.get(k, []) for k in previous})
            archive_marks.record(client, marks, heads)
            archive_marks.drop(client, marks)
    finally:
        client.close()
    counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(rows.tables.items()))
    click.echo(f"wrote {out}: {counts} up to {until}" + ("; dropped from the live store" if drop else ""))


def dropped_marks(client: Any) -> dict[str, Any]:
    """The archive marks of logs whose archived entries were dropped: a new archive of them starts there."""
    from battrace.store import archive_marks
    from battrace.store import logs as log_store

    held_from = log_store.log_starts(client)
    return {k: m for k, m in archive_marks.marks(client).items() if held_from.get(k, m.size) > 0}


def _require_whole_logs(rows: Any, starts: dict[str, int]) -> None:
    """Each archived log must be held from where its last dropped archive ended (or from index 0)."""
    held: dict[str, list[int]] = {}
    for e in rows.tables["log_entries"]:
        held.setdefault(e["log_id"], []).append(e["log_index"])
    for log_id, cp in rows.boundaries.items():
        start = starts.get(log_id, 0)
        if sorted(held.get(log_id, [])) != list(range(start, cp.size)):
            raise click.ClickException(
                f"the store does not hold every entry [{start}, {cp.size}) of {log_id}: run `battrace verify --all` "
                "to find what is missing"
            )


def _heads(entries: list[dict[str, Any]], boundaries: dict[str, Any], earlier: dict[str, list[Any]]) -> list[Any]:
    """The heads each log's archive checkpoint commits to: the earlier archive's heads (``earlier``, per log that
    goes on from one), then the archived entries."""
    from battrace.store.archive_marks import ArchivedHead
    from battrace.store.heads import Heads

    found = []
    by_log: dict[str, list[bytes]] = {}
    for e in sorted(entries, key=lambda e: (e["log_id"], e["log_index"])):
        by_log.setdefault(e["log_id"], []).append(e["entry"])
    for log_id in sorted(boundaries):
        heads = Heads(keep_values=True)
        for head in earlier.get(log_id, []):
            heads.observe(head.entity, head.length, head.chain_hash)
        heads.commit()
        for entry in by_log.get(log_id, []):
            heads.observe_entry(entry)
        heads.commit()
        found += [ArchivedHead(log_id, *leaf) for leaf in heads.leaves()]
    return found
