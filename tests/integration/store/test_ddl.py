"""The DDL as a store gets it at start-up: every table merges vertically (see 005_merge_memory.sql)."""

import subprocess
import sys
from pathlib import Path

from embedded import run_sql

from battrace.store.client import ddl_statements


def test_every_merge_tree_table_merges_vertically(tmp_path: Path) -> None:
    # The store as a worker makes it (in a child: chDB is never opened in the test process).
    make_store = "from battrace.settings import Settings; from battrace.store.client import connect, apply_ddl; "
    make_store += f"apply_ddl(connect(Settings(home={str(tmp_path)!r})))"
    subprocess.run([sys.executable, "-c", make_store], check=True, timeout=300)
    created = {s.split()[5] for s in ddl_statements() if s.startswith("CREATE TABLE")}
    rows = run_sql(
        tmp_path,
        "SELECT name, create_table_query LIKE '%vertical_merge_algorithm_min_columns_to_activate = 1%' "
        "FROM system.tables WHERE database = 'battrace' AND engine LIKE '%MergeTree' ORDER BY name",
    )
    assert {f"battrace.{name}" for name, _ in rows} == created
    assert [name for name, vertical in rows if not vertical] == []
