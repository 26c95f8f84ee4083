"""What a verifier remembers of each log between runs: the newest checkpoint it accepted.

A store can be rolled back as a whole (newest rows, log entries and the checkpoints covering them deleted)
and still be self-consistent, so nothing inside it can reveal the rollback. Like a Go sumdb client's cache,
the verifier keeps, outside the store, one small file per log under ``$BATTRACE_HOME/verifier/`` with the
newest checkpoint it verified; the next run demands that the store's log only grew from there
(battrace/verify/rollback.py). Files are replaced atomically, so a crash leaves the old memory or the new,
never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

SUFFIX = ".json"


class CheckpointMemoryError(ValueError):
    """A memory file that cannot be read; the message names it and how to start over."""


@dataclass(frozen=True)
class RememberedCheckpoint:
    """The newest checkpoint of one log this verifier accepted: its size, root and the signed note itself."""

    log_id: str
    size: int
    root: bytes
    note: str


class CheckpointMemory:
    """One file per log in ``directory``, named after the log id (percent-encoded: log ids contain slashes)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def in_home(cls, home: Path) -> CheckpointMemory:
        return cls(home / "verifier")

    def path(self, log_id: str) -> Path:
        return self.directory / (quote(log_id, safe="") + SUFFIX)

    def log_ids(self) -> list[str]:
        """Every log this verifier remembers, sorted."""
        if not self.directory.is_dir():
            return []
        return sorted(unquote(p.name[: -len(SUFFIX)]) for p in self.directory.glob("*" + SUFFIX))

    def recall(self, log_id: str) -> RememberedCheckpoint | None:
        """The remembered checkpoint of ``log_id``, or None if this verifier never accepted one."""
        path = self.path(log_id)
        try:
            data = json.loads(path.read_text())
            remembered = RememberedCheckpoint(data["log_id"], data["size"], bytes.fromhex(data["root"]), data["note"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointMemoryError(
                f"{path} is not a readable remembered checkpoint ({exc}); remove it to stop trusting it"
            ) from None
        if remembered.log_id != log_id or type(remembered.size) is not int or len(remembered.root) != 32:
            raise CheckpointMemoryError(f"{path} does not hold a checkpoint of {log_id}; remove it to start over")
        return remembered

    def remember(self, checkpoint: RememberedCheckpoint) -> None:
        """Replace the log's memory atomically (write a temporary file, fsync, rename over the old one)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        body = {
            "log_id": checkpoint.log_id,
            "size": checkpoint.size,
            "root": checkpoint.root.hex(),
            "note": checkpoint.note,
        }
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".remember-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(body, f, sort_keys=True)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path(checkpoint.log_id))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
