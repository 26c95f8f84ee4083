"""Material that flows back into what it came from: cycles of the genealogy, flagged on every entity in them.

The stream flags the one cycle a single event can show (a lot listed among both the inputs and the outputs of one
Recycled event). A longer cycle (lot A recycled into B, B later recycled into A; a pack listed among the cells of one
of its own modules) is made by events on different partitions, so only the sealed genealogy as a whole shows it.
Each entity on a cycle gets one ``genealogy_cycle`` flag naming the whole group; recycled-content and eligibility
figures that walk such a graph are not to be trusted for those entities.
"""

from __future__ import annotations

import hashlib
from typing import Any

from clickhouse_connect.driver.client import Client

from battrace.domain.entities import entity_key, split_key
from battrace.domain.genealogy import find_cycles

CATEGORY = "genealogy"
CYCLE = "genealogy_cycle"
MAX_NAMED = 20  # entities named in one flag's detail


def load_edges(client: Client) -> list[tuple[str, str]]:
    rows = client.query(
        "SELECT DISTINCT from_type, from_id, to_type, to_id FROM battrace.genealogy ORDER BY ALL"
    ).result_rows
    return [(entity_key(a, b), entity_key(c, d)) for a, b, c, d in rows]


def cycle_flag_rows(edges: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """One flag per entity on a cycle; its event id names the group (a digest of its members), so a group that
    grows or shrinks with new data replaces its flags."""
    out = []
    for group in find_cycles(edges):
        group_id = "cycle:" + hashlib.sha256("\n".join(group).encode()).hexdigest()[:16]
        shown = ", ".join(group[:MAX_NAMED]) + (f" and {len(group) - MAX_NAMED} more" if len(group) > MAX_NAMED else "")
        for member in group:
            entity_type, entity_id = split_key(member)
            out.append(
                {
                    "entity_type": entity_type,
                    "entity_id": entity_id,
                    "category": CATEGORY,
                    "code": CYCLE,
                    "detail": f"material flows back into itself through {shown}",
                    "event_id": group_id,
                    "seq": 0,
                    "event_time": 0,
                }
            )
    return out
