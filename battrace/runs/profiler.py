"""py-spy recording a worker during a bench run, for where the CPU goes (`battrace bench --profile FILE`)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

from battrace.runs.bench_error import BenchError


class Profiler:
    """py-spy recording a worker; raw collapsed stacks unless the file ends in .svg (flame graph) or .json."""

    def __init__(self, pid: int, path: Path) -> None:
        fmt = {".svg": "flamegraph", ".json": "speedscope"}.get(path.suffix, "raw")
        cmd = [self.executable(), "record", "--pid", str(pid), "--output", str(path), "--format", fmt]
        # --nonblocking: pausing the worker 100 times a second to sample it changed how its threads shared the GIL
        cmd += ["--rate", "100", "--threads", "--nonblocking"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    @staticmethod
    def executable() -> str:
        """py-spy from the project's environment or the PATH; a missing one is a setup step, said before the run."""
        venv_exe = Path(sys.executable).with_name("py-spy")
        found = str(venv_exe) if venv_exe.exists() else shutil.which("py-spy")
        if found is None:
            raise BenchError("--profile needs py-spy, which is not installed: run  pip install -e '.[bench]'")
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            _, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise BenchError("py-spy did not finish writing its profile") from None
        if self.proc.returncode not in (0, -signal.SIGINT):
            raise BenchError(f"py-spy failed: {err.decode(errors='replace')[-500:]}")
