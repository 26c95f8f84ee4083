"""`battrace serve` refuses to start with a message, not a traceback, when it cannot serve."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from served_api import free_port


def _serve(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "BATTRACE_HOME": str(home), **env}
    cmd = [sys.executable, "-m", "battrace.cli.serve", *args]
    return subprocess.run(cmd, env=environ, capture_output=True, text=True, timeout=60)


def test_no_store_tells_the_user_to_run_the_demo(tmp_path: Path) -> None:
    result = _serve(tmp_path, "--port", str(free_port()))
    assert result.returncode == 1 and "run `battrace demo` first" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "clickhouse").exists()


def test_a_taken_port_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve(tmp_path, "--port", str(port))
    assert result.returncode == 1 and f"port {port} on 127.0.0.1 is already in use" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_an_invalid_setting_is_named(tmp_path: Path) -> None:
    result = _serve(tmp_path, BATTRACE_PARTITIONS="0")
    assert result.returncode == 2 and "BATTRACE_PARTITIONS" in result.stderr and "Traceback" not in result.stderr
