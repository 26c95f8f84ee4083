"""Genealogy edges: which entity went into which, with how much mass, from one event.

Cells -> modules -> packs (Assembled), lots -> cells (MaterialConsumed), packs -> black-mass lots
(Dismantled), input lots -> recovered lots (Recycled). Stored as rows of ``genealogy`` so that both
directions are plain queries: which batteries contain lot X, which lots, smelters and mines are in Y.
"""

from __future__ import annotations

from typing import Any

from battrace.domain.entities import BATTERY, LOT


def _edge(
    parent: tuple[str, str], child: tuple[str, str], relation: str, mass_kg: float | None, event_id: str, time_ms: int
) -> dict[str, Any]:
    return {
        "from_type": parent[0],
        "from_id": parent[1],
        "to_type": child[0],
        "to_id": child[1],
        "relation": relation,
        "mass_kg": mass_kg,
        "event_id": event_id,
        "event_time": time_ms,
    }


def edges_of(kind: str, body: dict[str, Any], event_id: str, time_ms: int) -> list[dict[str, Any]]:
    """Edges point from what went in to what came out (material flow)."""
    if kind == "MaterialConsumed":
        to = (BATTERY, body["battery_id"])
        return [_edge((LOT, i["lot_id"]), to, "consumed_into", i["mass_kg"], event_id, time_ms) for i in body["inputs"]]
    if kind == "Assembled":
        to = (BATTERY, body["parent_id"])
        return [_edge((BATTERY, c), to, "assembled_into", None, event_id, time_ms) for c in body["child_ids"]]
    if kind == "Dismantled":
        to = (LOT, body["output_lot_id"])
        return [_edge((BATTERY, body["battery_id"]), to, "dismantled_into", body["output_mass_kg"], event_id, time_ms)]
    if kind == "Recycled":
        total_out = sum(o["mass_kg"] for o in body["outputs"]) or 1.0
        return [
            # the input's mass apportioned to each output by the outputs' masses
            _edge(
                (LOT, i["lot_id"]),
                (LOT, o["lot_id"]),
                "recycled_into",
                i["mass_kg"] * o["mass_kg"] / total_out,
                event_id,
                time_ms,
            )
            for i in body["inputs"]
            for o in body["outputs"]
        ]
    return []
