"""`battrace bench` end to end on the real stack: the JSON contract and its arithmetic, never its speed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


def test_profiling_without_py_spy_names_the_install_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from battrace.runs.bench_error import BenchError
    from battrace.runs.profiler import Profiler

    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # no py-spy beside it ...
    monkeypatch.setenv("PATH", str(tmp_path))  # ... nor on the PATH
    with pytest.raises(BenchError, match=r"pip install -e '\.\[bench\]'"):
        Profiler.executable()
