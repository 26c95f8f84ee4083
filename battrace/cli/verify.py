"""`battrace verify`: recompute the store's chains and logs, or check an exported bundle offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from battrace.cli.common import keyring, open_store, print_report, settings_or_exit, trusted_keys
from battrace.cli.entity_ids import check_battery_code, require_in_store
from battrace.cli.witness_options import witness_quorum
from battrace.domain.entities import BATTERY


@click.command(name="verify")
@click.option("--battery", "battery_id", help="GB/T 34014 code of the battery to verify")
@click.option("--all", "verify_all", is_flag=True, help="verify every chain, log and checkpoint")
@click.option("--bundle", "bundle_path", type=click.Path(dir_okay=False, path_type=Path), help="verify a bundle file")
@click.option(
    "--archive",
    "archive_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="verify an archive directory (`battrace archive --out`) with no store",
)
@click.option("--key", "keys", multiple=True, help="trusted verifier key name+keyid+key (repeatable)")
@click.option(
    "--report-key",
    "report_key_args",
    multiple=True,
    metavar="ROLE=KEY",
    help="with --bundle: a pinned report approval key, e.g. third_party_verifier=name+keyid+key (repeatable; "
    "default: the report keys of this home)",
)
@click.option(
    "--witness-key",
    "witness_keys",
    multiple=True,
    metavar="NAME+KEYID+KEY",
    help="pinned witness key (repeatable; default: the keys of BATTRACE_WITNESSES)",
)
@click.option(
    "--witnesses-required",
    "witnesses_required",
    type=click.IntRange(min=0),
    metavar="K",
    help="witness cosignatures each relied-on checkpoint must carry (default: BATTRACE_WITNESS_QUORUM, or every "
    "--witness-key given)",
)
@click.option("--json", "as_json", is_flag=True, help="print checked, ok, failures as JSON")
@click.option(
    "--self-consistent",
    "self_consistent",
    is_flag=True,
    help="with --bundle and no pinned key: check only that the file agrees with its own keys (verifies nothing)",
)
def verify_cmd(
    battery_id: str | None,
    verify_all: bool,
    bundle_path: Path | None,
    archive_dir: Path | None,
    keys: tuple[str, ...],
    report_key_args: tuple[str, ...],
    witness_keys: tuple[str, ...],
    witnesses_required: int | None,
    as_json: bool,
    self_consistent: bool,
) -> None:
    """Recompute chains, check log inclusion, checkpoint signatures and consistency; exit 0 only if all hold.

    With --bundle, checks an exported bundle offline (no Kafka, no ClickHouse) against the operator's key,
    pinned with --key or BATTRACE_VERIFIER_KEYS. Keys carried by the bundle prove only that the file agrees
    with itself, which anyone can forge: that check runs only with --self-consistent and is reported as
    not verified.

    With --witnesses-required K (or BATTRACE_WITNESS_QUORUM), each checkpoint the records rely on (every log's
    newest one; a bundle's checkpoints) must carry valid cosignatures of K of the pinned witnesses; a checkpoint
    short of them fails, naming the witnesses missing.

    With --archive, checks an archive offline: its manifest's signature (--key, or this home's keys), each file's
    hash and rows, every chain and log it holds.

    --battery CODE exits 2 if CODE is not a GB/T 34014 code and 1 if the store holds no record of it.
    """
    if sum(map(bool, (battery_id, verify_all, bundle_path, archive_dir))) != 1:
        raise click.UsageError("give exactly one of --battery ID, --all, --bundle FILE or --archive DIR")
    if battery_id is not None:
        check_battery_code(battery_id)
    settings = settings_or_exit()
    witnesses = witness_quorum(settings, witness_keys, witnesses_required)
    if bundle_path is not None:
        from battrace.keys import KeyConfigError
        from battrace.tlog import InvalidKeyError, Verifier
        from battrace.verify.bundle import BundleError, load_bundle, verify_bundle

        try:
            bundle = load_bundle(bundle_path.read_bytes())
            pinned = [Verifier.from_key(k) for k in keys] if keys else keyring(settings).configured_verifiers()
            role_keys = _report_keys(report_key_args) if report_key_args else keyring(settings).report_verifiers()
        except FileNotFoundError:
            raise click.UsageError(f"no bundle file {bundle_path}") from None
        except (BundleError, InvalidKeyError, KeyConfigError) as exc:
            raise click.UsageError(f"{bundle_path}: {exc}") from None
        if not pinned and not self_consistent:
            raise click.ClickException(
                f"no key to verify {bundle_path} against: pin the operator's verifier key with --key name+keyid+key "
                "or BATTRACE_VERIFIER_KEYS (--self-consistent checks only that the file agrees with itself)"
            )
        report = verify_bundle(bundle, pinned, role_keys, witnesses)
        if report.verified or not report.ok:
            print_report(report, as_json, f"records of {report.subject} (keys: {report.trust})")
            sys.exit(0 if report.ok else 1)
        print_report(report, as_json, f"records of {report.subject} against the bundle's own keys")
        if not as_json:
            click.echo(
                "NOT VERIFIED: the file agrees with the keys it carries, which anyone can forge; pin the "
                "operator's key with --key or BATTRACE_VERIFIER_KEYS to verify it"
            )
        sys.exit(0)
    if archive_dir is not None:
        from battrace.verify.archive_check import verify_archive
        from battrace.verify.archive_files import ArchiveError

        trusted = trusted_keys(settings, keys)
        try:
            report = verify_archive(archive_dir, trusted)
        except ArchiveError as exc:
            raise click.UsageError(str(exc)) from None
        advanced = _advance_memory(archive_dir, trusted, settings.home, report) if report.ok else []
        print_report(report, as_json, f"chains of the archive {archive_dir}")
        if not as_json:
            for checkpoint in advanced:
                click.echo(
                    f"log {checkpoint.log_id}: this verifier now remembers the archive's checkpoint {checkpoint.size}"
                )
        sys.exit(0 if report.ok else 1)
    from battrace.verify.chains import verify

    trusted = trusted_keys(settings, keys)
    client = open_store(settings)
    logs: dict[str, dict[str, object]] = {}
    try:
        if battery_id is not None:
            require_in_store(client, BATTERY, battery_id)
        report = verify(client, trusted, battery_id, witnesses=witnesses)
        if verify_all:
            logs = _check_against_memory(client, trusted, settings.home, report, witnesses)
    finally:
        client.close()
    if as_json and verify_all:
        click.echo(json.dumps({**report.to_json(), "logs": logs}, separators=(",", ":")))
    else:
        for log_id, head in logs.items():
            cosigned = f"; cosigned by {', '.join(head['cosigned_by']) or 'no pinned witness'}" if witnesses else ""
            signed = ", ".join(head["signed_by"]) or "no key"
            click.echo(f"log {log_id}: checkpoint {head['size']} signed by {signed}{cosigned}")
        print_report(report, as_json, "chains")
        if report.archived:
            click.echo(
                f"derived rows of {report.archived} entities and events depend on archived history, which the live "
                "store alone cannot recompute: not compared (`battrace verify --archive DIR` checks the archive)"
            )
    sys.exit(0 if report.ok else 1)


def _report_keys(args: tuple[str, ...]) -> dict[str, list[Any]]:
    """``ROLE=KEY`` options as role -> verifier keys; a malformed one is a usage error naming it."""
    from battrace.report.signing import ROLES
    from battrace.tlog import Verifier

    out: dict[str, list[Any]] = {}
    for arg in args:
        role, sep, key = arg.partition("=")
        if not sep or role not in ROLES:
            raise click.UsageError(f"--report-key {arg[:60]!r}: give ROLE=KEY with ROLE one of {', '.join(ROLES)}")
        out.setdefault(role, []).append(Verifier.from_key(key))
    return out


def _advance_memory(directory: Path, trusted: list[Any], home: Path, report: Any) -> list[Any]:
    """Move checkpoints this verifier remembers from inside the verified archive on to its end
    (battrace/verify/archive_memory.py)."""
    from battrace.verify.archive_files import load_archive
    from battrace.verify.archive_memory import advance_memory
    from battrace.verify.checkpoint_memory import CheckpointMemory, CheckpointMemoryError

    try:
        return advance_memory(load_archive(directory, trusted), trusted, CheckpointMemory.in_home(home), report)
    except CheckpointMemoryError as exc:
        raise click.ClickException(str(exc)) from None


def _check_against_memory(
    client: Any, trusted: list[Any], home: Path, report: Any, witnesses: Any
) -> dict[str, dict[str, object]]:
    """Fail logs the store rolled back behind what an earlier `verify --all` accepted; then remember the newest
    checkpoint of every log that verified, so the next run can tell (battrace/verify/rollback.py).

    Returns, per log, the store's newest verified checkpoint, the ids of the trusted keys that signed it and, when
    witnesses are required, the pinned witnesses that cosigned it.
    """
    from battrace.store import logs as log_store
    from battrace.verify.archive_start import consistency_prover
    from battrace.verify.chains import VerifyReport, archived_starts
    from battrace.verify.checkpoint_memory import CheckpointMemory, CheckpointMemoryError
    from battrace.verify.log_signers import signing_key_ids
    from battrace.verify.rollback import check_rollback

    memory = CheckpointMemory.in_home(home)
    starts = archived_starts(client, trusted, VerifyReport())  # failures are reported by the chains' check
    try:
        check = check_rollback(
            log_store.checkpoints(client),
            lambda log_id, size: log_store.leaf_hashes(client, log_id, 0, size),
            trusted,
            memory,
            consistency_prover(starts, lambda log_id, start, end: log_store.leaf_hashes(client, log_id, start, end)),
        )
    except CheckpointMemoryError as exc:
        raise click.ClickException(str(exc)) from None
    for log_id, problem in check.problems:
        report.fail(log_id, None, problem)
    failed = {f["entity"] for f in report.failures}
    for checkpoint in check.accepted:
        if checkpoint.log_id not in failed:
            memory.remember(checkpoint)
    return {
        log_id: {
            "size": cp.size,
            "root": cp.root.hex(),
            "signed_by": signing_key_ids(cp.note, trusted),
            **({"cosigned_by": sorted(witnesses.cosigners(cp.note))} if witnesses else {}),
        }
        for log_id, cp in sorted(check.newest.items())
    }
