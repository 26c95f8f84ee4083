"""`battrace schemas check` against git refs: a contract changed in the working tree is compared with its version at
HEAD (default) or at a release tag; exit 0 compatible, 1 one line per problem, 2 for a ref git does not know."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

MES = json.loads(Path("schemas/mes_event.avsc").read_text())


def _git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=battrace tests", "-c", "user.email=tests@battrace.example"]
    subprocess.run(["git", *identity, *args], cwd=repo, check=True, capture_output=True)


def _check(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "battrace", "schemas", "check", *args, "schemas/mes_event.avsc"]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=120)


def _write(repo: Path, raw: Any) -> None:
    (repo / "schemas" / "mes_event.avsc").write_text(json.dumps(raw, indent=2))


def _released_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "contracts"
    (repo / "schemas").mkdir(parents=True)
    _write(repo, MES)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "release 1")
    _git(repo, "tag", "v1")
    return repo


def test_an_unchanged_tree_is_compatible_with_head(tmp_path: Path) -> None:
    result = _check(_released_repo(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "schemas/mes_event.avsc: BACKWARD compatible with HEAD" in result.stdout


def test_a_changed_type_fails_against_head_and_a_removed_field_does_not(tmp_path: Path) -> None:
    repo = _released_repo(tmp_path)
    changed = copy.deepcopy(MES)
    next(f for f in changed["fields"] if f["name"] == "site_id")["type"] = "long"
    changed["fields"] = [f for f in changed["fields"] if f["name"] != "line_id"]  # removing a field is backward-safe
    _write(repo, changed)
    result = _check(repo)
    assert result.returncode == 1
    assert result.stdout.strip().splitlines() == ["schemas/mes_event.avsc: site_id: type changed from string to long"]


def test_each_ref_is_its_own_release(tmp_path: Path) -> None:
    repo = _released_repo(tmp_path)
    changed = copy.deepcopy(MES)
    changed["fields"].append({"name": "operator", "type": ["null", "string"], "default": None})
    _write(repo, changed)
    _git(repo, "commit", "-q", "-am", "operator")
    broken = copy.deepcopy(changed)
    broken["fields"][-1] = {"name": "operator", "type": "string"}  # the default dropped again
    _write(repo, broken)
    at_tag, at_head = _check(repo, "--against", "v1"), _check(repo, "--against", "HEAD")
    assert (at_tag.returncode, at_head.returncode) == (1, 1)
    assert at_tag.stdout.splitlines() == [
        "schemas/mes_event.avsc: operator: field added without a default (the writer's data has none)"
    ]
    assert at_head.stdout.splitlines() == [
        "schemas/mes_event.avsc: operator: the writer may write null, the reader reads only string"
    ]
    _write(repo, changed)
    assert _check(repo, "--against", "v1").returncode == 0


def test_an_unknown_ref_is_a_user_error(tmp_path: Path) -> None:
    result = _check(_released_repo(tmp_path), "--against", "v9")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: git knows no commit 'v9': name a tag, branch or commit, or --against packaged"
    ]
