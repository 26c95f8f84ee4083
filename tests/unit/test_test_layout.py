"""pytest imports test modules by their base name (rootdir-relative "prepend" mode): two test files with one name,
one under tests/unit and one under tests/integration, stop the whole run at collection."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_module_has_a_name_of_its_own() -> None:
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert len(names) > 50
    assert [n for n, count in names.items() if count > 1] == []
