"""How many bytes the store takes on disk per sealed event: the figure the storage schema is tuned against.

Measured from ``system.parts`` (active parts only) after ``OPTIMIZE ... FINAL`` of every table of the database, so
replaced rows and unmerged parts of a just-finished run do not count: the size a store settles at.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from battrace.store.client import DATABASE


def merge_all(client: Client, database: str = DATABASE) -> None:
    """Merge every MergeTree table of ``database`` down to its final parts (replaced rows dropped)."""
    tables = client.query(
        "SELECT name FROM system.tables WHERE database = {db:String} AND engine LIKE '%MergeTree'",
        parameters={"db": database},
    ).result_rows
    for (name,) in tables:
        client.command(f"OPTIMIZE TABLE `{database}`.`{name}` FINAL")


def bytes_by_table(client: Client, database: str = DATABASE) -> dict[str, int]:
    """Bytes on disk of each table's active parts."""
    rows = client.query(
        "SELECT table, sum(bytes_on_disk) FROM system.parts WHERE database = {db:String} AND active "
        "GROUP BY table ORDER BY table",
        parameters={"db": database},
    ).result_rows
    return {str(table): int(size) for table, size in rows}


def bytes_per_sealed_event(client: Client, sealed_events: int, database: str = DATABASE) -> float:
    """The store's bytes on disk (after a final merge) divided by the events it holds sealed."""
    merge_all(client, database)
    total = sum(bytes_by_table(client, database).values())
    return round(total / sealed_events, 1) if sealed_events else 0.0
