"""How many source messages ended sealed or rejected, apart from the report steps the pipeline publishes itself.

A delivered consignment's report draft (and each review of it) is an event on reports.events that the worker seals
into the consignment's chain like any source's; a run that balances what it published (published = sealed +
rejected) counts those apart.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from streams.topics import REPORTS

NOT_REPORT_STEPS = "source_topic != {steps:String}"


def sealed_sources(client: Client) -> int:
    """Distinct events sealed, report steps left out."""
    sql = (
        "SELECT uniqExact(event_id) FROM battrace.sealed_store WHERE event_id IN "
        f"(SELECT event_id FROM battrace.event_store WHERE {NOT_REPORT_STEPS})"
    )
    return int(client.query(sql, parameters={"steps": REPORTS.name}).result_rows[0][0])


def rejected_sources(client: Client) -> dict[str, int]:
    """Rejected messages by reason, report steps left out."""
    sql = f"SELECT reason, count() FROM battrace.rejects FINAL WHERE {NOT_REPORT_STEPS} GROUP BY reason"
    return {str(r): int(n) for r, n in client.query(sql, parameters={"steps": REPORTS.name}).result_rows}
