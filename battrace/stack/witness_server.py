"""`battrace witness serve` as a child process of the embedded stack, stopped with its process group."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from battrace.stack.broker import free_port
from battrace.stack.process import spawn, stop_group


class WitnessServerError(RuntimeError):
    pass


class WitnessServer:
    """A witness serving its home on a free loopback port; ``url`` is where its add-checkpoint lives."""

    def __init__(self, home: Path, log_path: Path) -> None:
        self.home = home
        self.log_path = log_path
        self.url = ""
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WitnessServer:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "battrace", "witness", "serve", "--home", str(self.home), "--port", str(port)]
        with open(self.log_path, "ab") as log:
            self.proc = spawn(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def wait_ready(self, timeout_s: float = 30) -> None:
        """Block until the witness answers (its key endpoint)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                httpx.get(f"{self.url}/key", timeout=1).raise_for_status()
                return
            except httpx.HTTPError:
                if self.proc is None or self.proc.poll() is not None or time.monotonic() > deadline:
                    raise WitnessServerError(f"the witness did not start; see {self.log_path}") from None
                time.sleep(0.1)

    def stop(self, timeout_s: float = 10) -> None:
        proc, self.proc = self.proc, None
        stop_group(proc, timeout_s)

    def __enter__(self) -> WitnessServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
