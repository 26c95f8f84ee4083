"""Which noted group members belong to dead processes: only those are sent away before a successor joins."""

from __future__ import annotations

import json
import os
from pathlib import Path

from battrace.settings import Settings
from processors.predecessors import MemberNote, dead_members, members_dir

GROUP = "battrace-seal"


def _note(settings: Settings, pid: int, started: str | None, member: str, group: str = GROUP) -> Path:
    path = members_dir(settings) / f"{group}.{pid}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"group": group, "member_id": member, "pid": pid, "started": started}))
    return path


def _own_start() -> str:
    return Path(f"/proc/{os.getpid()}/stat").read_text().rpartition(")")[2].split()[19]


def test_a_member_noted_by_a_process_that_is_gone_is_dead(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    gone = 2**22 + 12345  # above the kernel's pid_max: never a running process
    path = _note(settings, gone, "100", "member-of-the-killed-worker")
    assert dead_members(settings, GROUP) == [(path, "member-of-the-killed-worker")]
    assert dead_members(settings, "another-group") == []


def test_a_running_process_is_alive_unless_its_pid_was_reused(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    parent = os.getppid()
    started = Path(f"/proc/{parent}/stat").read_text().rpartition(")")[2].split()[19]
    _note(settings, parent, started, "a-live-worker")  # e.g. another worker sharing the home
    assert dead_members(settings, GROUP) == []
    reused = _note(settings, parent, str(int(started) + 1), "noted-before-the-pid-was-reused")
    assert dead_members(settings, GROUP) == [(reused, "noted-before-the-pid-was-reused")]


def test_this_process_never_sends_itself_away(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    _note(settings, os.getpid(), "0", "mine")  # even with a start time that does not match
    assert dead_members(settings, GROUP) == []


def test_a_note_is_written_once_per_member_id(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    note = MemberNote(settings, GROUP)
    note.note("")  # not joined yet: nothing to note
    assert not members_dir(settings).exists()
    note.note("m-1")
    path = members_dir(settings) / f"{GROUP}.{os.getpid()}.json"
    record = json.loads(path.read_text())
    assert record == {"group": GROUP, "member_id": "m-1", "pid": os.getpid(), "started": _own_start()}
    path.write_text("{}")
    note.note("m-1")  # unchanged: not written again
    assert path.read_text() == "{}"
    note.note("m-2")  # rejoined under a new id
    assert json.loads(path.read_text())["member_id"] == "m-2"


def test_unreadable_notes_are_skipped(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    members_dir(settings).mkdir(parents=True)
    (members_dir(settings) / f"{GROUP}.1.json").write_text("not json")
    (members_dir(settings) / f"{GROUP}.2.json").write_text(json.dumps({"group": GROUP, "pid": "two"}))
    assert dead_members(settings, GROUP) == []
