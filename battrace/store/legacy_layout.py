"""Moving a store written before the storage tables into them: ``events``, ``sealed`` and ``log_entries`` were tables
with hex hashes, and are views now (battrace/store/ddl/001_tables.sql).

Done where the DDL is applied: the old tables are renamed out of the way first (so the views can take their names),
and their rows copied into the storage tables once these exist, then dropped. Each step can run again after a crash:
a copy re-inserts keyed rows (the same key replaces), and a leftover ``*_legacy`` table is copied again.
A log entry is stored as it was unless it is exactly what the view renders from its sealed row, so a store whose
entries and sealed rows disagree keeps disagreeing (and `battrace verify` names it) after the move.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

LEGACY = ("events", "sealed", "log_entries")

_COPY = {
    "events": (
        "INSERT INTO battrace.event_store (event_id, source_topic, source_partition, source_offset, schema, kind, "
        "event_time, tz_offset, entities, battery_ids, lot_ids, shipment_id, site_id, lat, lon, payload, canonical) "
        "SELECT event_id, source_topic, source_partition, source_offset, schema, kind, event_time, tz_offset, "
        "entities, battery_ids, lot_ids, shipment_id, site_id, lat, lon, payload, canonical "
        "FROM battrace.events_legacy FINAL"
    ),
    "sealed": (
        "INSERT INTO battrace.sealed_store (entity_type, entity_id, seq, event_id, event_hash, prev_hash, chain_hash, "
        "log_id, log_index, sealed_at) "
        "SELECT entity_type, entity_id, seq, event_id, toFixedString(unhex(event_hash), 32), "
        "toFixedString(unhex(prev_hash), 32), toFixedString(unhex(chain_hash), 32), log_id, log_index, sealed_at "
        "FROM battrace.sealed_legacy FINAL"
    ),
    "log_entries": (
        "INSERT INTO battrace.log_store (log_id, log_index, kind, entry) "
        "SELECT l.log_id, l.log_index, l.kind, if(l.kind = 'sealed' AND l.entry = concat('{\"chain_hash\":\"', "
        'lower(hex(s.chain_hash)), \'","entity_id":"\', s.entity_id, \'","entity_type":"\', s.entity_type, '
        '\'","event_hash":"\', lower(hex(s.event_hash)), \'","event_id":"\', s.event_id, '
        '\'","kind":"sealed","seq":\', toString(s.seq), \'}\'), \'\', l.entry) '
        "FROM battrace.log_entries_legacy AS l FINAL "
        "ANY LEFT JOIN battrace.sealed_store AS s FINAL ON s.log_id = l.log_id AND s.log_index = l.log_index"
    ),
}


def _tables(client: Client, names: list[str]) -> set[str]:
    rows = client.query(
        "SELECT name FROM system.tables WHERE database = 'battrace' AND has({names:Array(String)}, name) "
        "AND engine LIKE '%MergeTree'",
        parameters={"names": names},
    ).result_rows
    return {str(r[0]) for r in rows}


def set_aside(client: Client) -> None:
    """Rename the old tables that hold the names the views take (before the DDL is applied)."""
    for name in LEGACY:
        if name in _tables(client, [name]):
            client.command(f"RENAME TABLE battrace.{name} TO battrace.{name}_legacy")


def move_in(client: Client) -> None:
    """Copy what the set-aside tables hold into the storage tables, then drop them (after the DDL is applied).
    Sealed rows go first: a log entry is compared with the sealed row it would be rendered from."""
    held = _tables(client, [f"{name}_legacy" for name in LEGACY])
    for name in ("events", "sealed", "log_entries"):
        if f"{name}_legacy" in held:
            client.command(_COPY[name])
    for name in ("log_entries", "events", "sealed"):
        if f"{name}_legacy" in held:
            client.command(f"DROP TABLE battrace.{name}_legacy")
