"""How long the store keeps what may expire: a rejected message's original bytes, ``reject_bytes_days`` after the
reject was stored (a ClickHouse column TTL empties them; the reject's reason, detail and coordinates stay). Not from
the message's Kafka timestamp: a producer stamps that, and an old or replayed message would lose its bytes at once.

Everything sealed (events, chains, logs, checkpoints) and everything derived from it has no TTL: the traceability
record is kept for the ten years of EU 2023/1542. The period is a setting, so the TTL is set here at start-up rather
than in the DDL files, and only when it differs from the table's (a change re-applies the TTL to every part).
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from battrace.settings import Settings


def reject_bytes_ttl(days: int) -> str:
    """The TTL expression of ``rejects.original``, as ClickHouse prints it back in the table's definition."""
    return f"toDateTime(rejected_at) + toIntervalDay({int(days)})"


def apply_retention(client: Client, settings: Settings) -> None:
    """Give ``rejects.original`` the configured TTL unless it has it already."""
    ttl = reject_bytes_ttl(settings.reject_bytes_days)
    current = client.query(
        "SELECT create_table_query FROM system.tables WHERE database = 'battrace' AND name = 'rejects'"
    ).result_rows
    if current and f"TTL {ttl}" in str(current[0][0]):
        return
    client.command(f"ALTER TABLE battrace.rejects MODIFY COLUMN original TTL {ttl}")
