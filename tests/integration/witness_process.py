"""A witness started as its own process from a home of its own (`battrace witness init` and `serve`)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from api.served_api import free_port


def battrace(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "battrace", *args], capture_output=True, text=True, timeout=60)


def init_witness(home: Path, name: str, *logs: str) -> str:
    """Create the home; returns the witness's verifier key. ``logs``: ORIGIN=KEY entries."""
    made = battrace("witness", "init", "--home", str(home), "--name", name, *(a for x in logs for a in ("--log", x)))
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


@contextmanager
def serving(home: Path) -> Iterator[str]:
    """``battrace witness serve`` on a free port until the block ends; yields its URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "battrace", "witness", "serve", "--home", str(home), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/key", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"witness did not start: {proc.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
