"""The DDL files are applied in name order on new and existing stores alike: each has its own number."""

from __future__ import annotations

import re

from battrace.store.client import ddl_dir


def test_each_ddl_file_has_a_number_of_its_own() -> None:
    names = sorted(f.name for f in ddl_dir().iterdir() if f.name.endswith(".sql"))
    numbers = [re.match(r"(\d{3})_[a-z0-9_]+\.sql$", name) for name in names]
    assert all(numbers), names
    assert len({m.group(1) for m in numbers if m}) == len(names), names
