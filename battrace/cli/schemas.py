"""`battrace schemas check`: is a changed event contract BACKWARD compatible with the released one?

BACKWARD: the changed schema (as reader) reads every event written under the released one (as writer), so stored
events and producers that have not upgraded keep working. The released schema is the file's version at a git ref
(default HEAD: what the working tree changes) or the copy packaged with the installed battrace. The rules and the
wording of each problem are schemas/compatibility.py's. Exit 0 compatible, 1 incompatible (one line per problem),
2 a usage problem (a file that is not a schema, a ref git does not know, no git work tree).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import fastavro

from battrace.cli.known_errors import FixableError
from schemas.catalog import shipped_files, shipped_text
from schemas.compatibility import problems

PACKAGED = "packaged"
EXIT_INCOMPATIBLE = 1


def _schema(text: str, where: str) -> Any:
    try:
        raw = json.loads(text)
        fastavro.parse_schema(raw, _write_hint=False)
    except Exception as exc:
        raise FixableError(f"{where} is not an Avro schema ({type(exc).__name__}: {exc}): fix the file") from None
    return raw


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise FixableError(
            f"git is not installed: install it or check against the installed copy with --against {PACKAGED}"
        ) from None


def released_text(path: Path, against: str) -> str | None:
    """The released version of a schema file; None when it was not released yet (a new event contract)."""
    if against == PACKAGED:
        return shipped_text(path.name) if path.name in shipped_files() else None
    folder = path.resolve().parent
    top = _git(folder, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise FixableError(
            f"{path} is not in a git work tree: check it against the installed copy with --against {PACKAGED}"
        )
    if _git(folder, "rev-parse", "--verify", "--quiet", f"{against}^{{commit}}").returncode != 0:
        raise FixableError(f"git knows no commit {against!r}: name a tag, branch or commit, or --against {PACKAGED}")
    relative = path.resolve().relative_to(Path(top.stdout.strip()).resolve()).as_posix()
    shown = _git(folder, "show", f"{against}:{relative}")
    return shown.stdout if shown.returncode == 0 else None


@click.group(name="schemas")
def schemas_group() -> None:
    """The Avro event contracts: check a change before releasing it; register them in a Schema Registry."""


@schemas_group.command(name="check")
@click.option(
    "--against",
    default="HEAD",
    show_default=True,
    help=f"the release to compare with: a git ref (tag, branch, commit), or '{PACKAGED}' for the installed copy",
)
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def schemas_check(against: str, files: tuple[Path, ...]) -> None:
    """Tell whether each changed .avsc FILE is BACKWARD compatible with its released version.

    Exit 0: all compatible; 1: incompatible, one line per problem; 2: a file or ref that cannot be used."""
    found: list[str] = []
    for path in files:
        if not path.is_file():
            raise FixableError(f"{path} does not exist: name an .avsc file")
        changed = _schema(path.read_text(), str(path))
        text = released_text(path, against)
        if text is None:
            click.echo(f"{path}: new contract, nothing released at {against} to compare with")
            continue
        released = _schema(text, f"{path} at {against}")
        mine = [f"{path}: {problem}" for problem in problems(changed, released)]
        found += mine
        if not mine:
            click.echo(f"{path}: BACKWARD compatible with {against}")
    for line in found:
        click.echo(line)
    if found:
        sys.exit(EXIT_INCOMPATIBLE)


@schemas_group.command(name="register")
@click.option("--json", "as_json", is_flag=True, help="print one JSON line: subject -> schema id")
def schemas_register(as_json: bool) -> None:
    """Register each source topic's contract under <topic>-value in BATTRACE_SCHEMA_REGISTRY_URL.

    Producers using the registry framing then find the contracts there (the compose file's `schemas` job runs this).
    Registering again is harmless: the registry answers with the ids it gave. Exit 1 when the registry refuses a
    contract (incompatible with what the subject holds), 2 when it cannot be reached or is not configured."""
    from battrace.cli.common import settings_or_exit
    from schemas.catalog import contracts
    from schemas.registry import Registry, RegistryUnavailable, SchemaNotFound, SchemaRefused, value_subject
    from streams.topics import SOURCES

    settings = settings_or_exit()
    if not settings.schema_registry_url:
        raise FixableError("no Schema Registry named: set BATTRACE_SCHEMA_REGISTRY_URL to its URL")
    registry = Registry(settings.schema_registry_url, settings=settings)
    shipped = contracts()
    ids: dict[str, int] = {}
    for spec in SOURCES:
        if spec.value_schema is None:
            continue
        subject = value_subject(spec.name)
        try:
            ids[subject] = registry.register(subject, shipped[spec.value_schema].raw)
        except RegistryUnavailable as exc:
            raise FixableError(f"{exc}: start the registry or fix BATTRACE_SCHEMA_REGISTRY_URL") from None
        except (SchemaRefused, SchemaNotFound) as exc:  # the registry answered: no to this contract
            raise click.ClickException(f"{subject}: {exc}") from None
        if not as_json:
            click.echo(f"{subject}: {spec.value_schema} registered as id {ids[subject]}")
    if as_json:
        click.echo(json.dumps(ids, separators=(",", ":")))
