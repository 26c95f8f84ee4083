"""Apply one chain item to its entity's state: chain step, projection update, carbon ledger lines, transit rows.

A pure function of (state, item), so a replay in the same order yields byte-identical output.
State is a JSON-able dict, which is what the Faust table stores and its changelog carries.
"""

from __future__ import annotations

from typing import Any, Protocol

from battrace.domain import lifecycle, transit
from battrace.domain.battery_code import product_type
from battrace.domain.carbon import refining_kg_co2e
from battrace.domain.chain import GENESIS, chain_step
from battrace.domain.end_of_life import COLLECTION, DISMANTLING, RECYCLING, charge
from battrace.domain.entities import BATTERY, LOT, SHIPMENT, body_of, split_key
from battrace.domain.recycled import check_mass_balance
from battrace.domain.report_events import REPORT_KINDS
from battrace.domain.transport import follow_fix, planned_legs, transport_chain

MASS_BALANCE = "outputs_exceed_inputs"
GENEALOGY = "genealogy"  # flag category: the material-flow graph itself is impossible
RECYCLED_INTO_ITSELF = "recycled_into_itself"  # a Recycled event lists a lot among both its inputs and its outputs


class AcceptedEvent(Protocol):
    """What a step reads of an accepted event (schemas.envelope.Envelope on the wire)."""

    @property
    def event_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def event_time_ms(self) -> int: ...
    @property
    def event_hash(self) -> bytes: ...
    @property
    def record(self) -> dict[str, Any]: ...


class ChainItem(Protocol):
    """One entity's share of an accepted event (schemas.envelope.ChainItem on the wire)."""

    @property
    def entity(self) -> str: ...
    @property
    def source(self) -> tuple[str, int, int]: ...
    @property
    def envelope(self) -> AcceptedEvent: ...


class Output:
    """Rows one item adds: at most one sealed row, ledger lines and flags.

    A slotted class, not a dataclass with default factories: one is made per item."""

    __slots__ = ("carbon", "flags", "sealed", "skipped", "transit")

    def __init__(self, skipped: bool = False) -> None:
        self.sealed: dict[str, Any] | None = None
        self.carbon: list[dict[str, Any]] = []
        self.flags: list[dict[str, Any]] = []
        self.transit: list[dict[str, Any]] = []  # transit_events rows (battrace/domain/transit.py)
        self.skipped = skipped

    def flag(self, state: dict[str, Any], item: ChainItem, category: str, code: str, detail: str) -> None:
        """A rule the event breaks, recorded on the entity whose chain it extends (not applied silently)."""
        ev = item.envelope
        self.flags.append(
            {
                "entity_type": state["type"],
                "entity_id": state["id"],
                "category": category,
                "code": code,
                "detail": detail,
                "event_id": ev.event_id,
                "seq": state["seq"],
                "event_time": ev.event_time_ms,
            }
        )


def new_state(entity: str) -> dict[str, Any]:
    entity_type, entity_id = split_key(entity)
    return {"type": entity_type, "id": entity_id, "seq": 0, "head": GENESIS.hex(), "applied": {}}


def already_applied(state: dict[str, Any], item: ChainItem) -> bool:
    """A redelivered item: its source offset is not past what this entity already applied from that partition.

    Items of one source partition reach an entity in source order (ingest packs keep it), so the last applied
    offset per source partition is enough to recognise every replay.
    """
    topic, partition, offset = item.source
    return offset <= state["applied"].get(f"{topic}:{partition}", -1)


def _ledger(
    out: Output,
    item: ChainItem,
    target: str,
    stage: str,
    source: str,
    qty: float,
    unit: str,
    kg: float,
    factor_id: str,
    version: str,
    suffix: str = "",
) -> None:
    entity_type, entity_id = split_key(target)
    ev = item.envelope
    out.carbon.append(
        {
            "line_id": f"{ev.event_id}:{item.entity}:{target}:{source}{suffix}",
            "entity_type": entity_type,
            "entity_id": entity_id,
            "stage": stage,
            "source": source,
            "quantity": qty,
            "unit": unit,
            "kg_co2e": kg,
            "factor_id": factor_id,
            "factor_version": version,
            "event_id": ev.event_id,
            "event_time": ev.event_time_ms,
        }
    )


def _battery(state: dict[str, Any], item: ChainItem, b: dict[str, Any], out: Output) -> None:
    kind, me = item.envelope.kind, state["id"]
    current = lifecycle.Lifecycle.from_json(state.get("lifecycle"))
    after, violation = lifecycle.step(current, kind, b, me)
    if violation is not None:
        # Events that reach a battery under another Kafka key (a pack's Assembled for its cells, a spare in
        # Serviced, a consignment) are not ordered with the battery's own events: they may overtake its
        # Commissioned or trail its Dismantled. Only the battery's own events can break its lifecycle.
        if not lifecycle.cross_key(kind, b, me):
            out.flag(state, item, "lifecycle", violation.code, violation.detail)
        state["last_event"] = kind
        return
    state["lifecycle"] = after.to_json()
    state["phase"], state["status"] = after.phase, after.status
    if kind == "Commissioned":
        for f in ("chemistry", "model", "capacity_ah", "energy_kwh", "mass_kg", "certification_number", "sgtin"):
            state[f] = b[f]
        state["product_type"] = product_type(me)
        state["site_id"] = item.envelope.record.get("site_id", "")
    elif kind == "Assembled":
        if b["parent_id"] == me:
            state["children"] = sorted(set(state.get("children", [])) | set(b["child_ids"]))
        else:
            state["parent_id"] = b["parent_id"]
    elif kind == "MaterialConsumed":
        state["lots"] = sorted(set(state.get("lots", [])) | {i["lot_id"] for i in b["inputs"]})
    elif kind == "EnergyUsed":
        kg = b["energy_kwh"] * b["grid_factor_kg_per_kwh"]
        factor = f"grid:{item.envelope.record.get('site_id', '')}:{b['grid_factor_kg_per_kwh']}"
        _ledger(out, item, item.entity, "production", "energy", b["energy_kwh"], "kWh", kg, factor, "supplier")
    elif kind == "VehicleIntegrated":
        state["vin"] = b["vin"]
        state["vehicle_model"] = b.get("vehicle_model", "")
        state["vehicle_category"] = b.get("vehicle_category", "")
    elif kind == "Repurposed" and b["new_battery_id"] == me:  # a second life starts at the repurposer's site
        state["product_type"] = product_type(me)
        state["site_id"] = item.envelope.record.get("site_id", "")
    if kind in ("EndOfLifeCollected", "Dismantled") and b.get("vin") and not state.get("vin"):
        state["vin"] = b["vin"]  # the vehicle it came from, when no VehicleIntegrated of it was sealed
    if kind == "EndOfLifeCollected" and b.get("battery_id") == me and state.get("mass_kg"):
        _end_of_life_line(out, item, item.entity, COLLECTION, state["mass_kg"])
    if kind == "Dismantled" and b.get("battery_id") == me and state.get("mass_kg"):
        _end_of_life_line(out, item, item.entity, DISMANTLING, state["mass_kg"])
        if check_mass_balance(state["mass_kg"], b["output_mass_kg"]).exceeds_inputs:
            detail = f"black mass {b['output_mass_kg']:g} kg > pack {state['mass_kg']:g} kg"
            out.flag(state, item, "mass_balance", MASS_BALANCE, detail)
    state["last_event"] = kind


def _end_of_life_line(out: Output, item: ChainItem, battery: str, process: str, kg: float, suffix: str = "") -> None:
    """An end-of-life ledger line of ``battery``: ``kg`` handled by ``process`` (battrace/domain/end_of_life.py)."""
    c = charge(process, kg)
    _ledger(out, item, battery, "end_of_life", process, kg, "kg", c.kg_co2e, c.factor.id, c.factor.version, suffix)


def _recycled_input(state: dict[str, Any], item: ChainItem, out: Output, kg: float) -> None:
    """A black-mass lot fed into recycling: its recycling line goes to the pack it was dismantled from, or waits
    for the lot's Dismantled event when that has not been applied yet (the two travel under different keys)."""
    parents = state.get("parent_batteries")
    if not parents:
        state.setdefault("pending_recycling", []).append([kg, item.envelope.event_id])
        return
    for pack in parents:
        _end_of_life_line(out, item, f"{BATTERY}:{pack}", RECYCLING, kg)


def _lot(state: dict[str, Any], item: ChainItem, record: dict[str, Any], out: Output) -> None:
    kind, me = item.envelope.kind, state["id"]
    b = body_of(record)
    if kind == "Assay":
        for f in (
            "product",
            "smelter_id",
            "mine_licences",
            "origin_country",
            "refining_kgco2e_per_kg",
            "recycled_pre_consumer",
            "recycled_post_consumer",
        ):
            state[f] = record[f]
        state["mass_kg"] = record["lot_mass_kg"]
        state["composition"] = [[f["element"], f["fraction"]] for f in record["fractions"]]
        state["assayed"] = True
        state["assay_event"] = item.envelope.event_id
        for f in ("lab_id", "accreditation", "certificate_ref"):
            state[f] = record.get(f)
        state["assayed_at"] = record.get("sampled_at") or item.envelope.event_time_ms
        if state["refining_kgco2e_per_kg"] is not None:  # an assay without intensity leaves them pending
            pending, state["pending"] = state.get("pending", []), []
            for cell, kg, source_event in pending:
                _refining_line(state, item, out, cell, kg, suffix=f":{source_event}")
    elif kind == "MaterialConsumed":
        kg = sum(i["mass_kg"] for i in b["inputs"] if i["lot_id"] == me)
        state["consumed_kg"] = state.get("consumed_kg", 0.0) + kg
        cell = f"{BATTERY}:{b['battery_id']}"
        if state.get("refining_kgco2e_per_kg") is not None:
            _refining_line(state, item, out, cell, kg)
        else:  # the assay has not arrived yet: allocate when it does
            state.setdefault("pending", []).append([cell, kg, item.envelope.event_id])
    elif kind == "Dismantled":
        state["product"] = state.get("product") or "black mass"
        state["mass_kg"] = b["output_mass_kg"]
        state["parent_batteries"] = [b["battery_id"]]
        pending, state["pending_recycling"] = state.get("pending_recycling", []), []
        for kg, source_event in pending:
            _end_of_life_line(out, item, f"{BATTERY}:{b['battery_id']}", RECYCLING, kg, suffix=f":{source_event}")
    elif kind == "Recycled":
        if any(o["lot_id"] == me for o in b["outputs"]):
            if any(i["lot_id"] == me for i in b["inputs"]):  # a lot cannot be its own ancestor: sealed, and flagged
                out.flag(state, item, GENEALOGY, RECYCLED_INTO_ITSELF, f"lot {me} is both an input and an output")
            state["parent_lots"] = sorted({i["lot_id"] for i in b["inputs"]})
            state["mass_kg"] = sum(o["mass_kg"] for o in b["outputs"] if o["lot_id"] == me)
            state["recovered"] = True
            inputs_kg = sum(i["mass_kg"] for i in b["inputs"])
            if inputs_kg > 0:
                balance = check_mass_balance(inputs_kg, [o["mass_kg"] for o in b["outputs"]])
                state["yield"] = round(balance.yield_fraction, 6)
                if balance.exceeds_inputs:
                    detail = f"outputs {balance.output_kg:g} kg > inputs {balance.input_kg:g} kg"
                    out.flag(state, item, "mass_balance", MASS_BALANCE, detail)
        else:
            fed = sum(i["mass_kg"] for i in b["inputs"] if i["lot_id"] == me)
            state["consumed_kg"] = state.get("consumed_kg", 0.0) + fed
            if fed > 0 and not state.get("recovered"):  # black mass of a pack, not a recovered lot refined again
                _recycled_input(state, item, out, fed)
    state["last_event"] = kind


def _refining_line(state: dict[str, Any], item: ChainItem, out: Output, cell: str, kg: float, suffix: str = "") -> None:
    intensity = state["refining_kgco2e_per_kg"]
    factor = f"assay:{state['id']}:{state.get('assay_event', '')}"
    _ledger(
        out,
        item,
        cell,
        "raw_material",
        "refining",
        kg,
        "kg",
        refining_kg_co2e(kg, intensity),
        factor,
        "supplier",
        suffix,
    )


def _shipment(state: dict[str, Any], item: ChainItem, b: dict[str, Any], out: Output) -> None:
    kind = item.envelope.kind
    if kind in REPORT_KINDS:  # the report's own steps: sealed into the chain, the consignment is unchanged
        return
    if kind == "Licence":  # a forwarder's registry record carrying zones frozen for this trip
        _transit(state, item, out, zones=[z for z in b.get("zones") or () if state["id"] in z["consignment_ids"]])
        return
    if kind == "ConsignmentCreated":
        for f in (
            "battery_ids",
            "lot_ids",
            "gross_mass_kg",
            "mode",
            "transporter_id",
            "transporter_licence",
            "origin_site",
            "destination_site",
        ):
            state[f] = b[f]
        state["legs"] = planned_legs(b)
        state["status"] = "created"
        return
    if "lat" in b:
        follow_fix(state, b["lat"], b["lon"], b.get("geofence"), b.get("geofence_id"))
        state["positions"] = state.get("positions", 0) + 1
        _transit(state, item, out, fix=b)
    state["status"] = {"Departed": "in_transit", "Arrived": "arrived", "Delivered": "delivered"}.get(
        kind, state.get("status", "in_transit")
    )
    if kind == "Delivered" and "gross_mass_kg" in state:
        legs = state.get("legs") or [[state.get("mode"), state.get("destination_site"), None]]
        chain = transport_chain(state["gross_mass_kg"], legs, state.get("leg_km") or [state.get("distance_km", 0.0)])
        if chain:
            state["transport_kgco2e"] = sum(e.kg_co2e for e in chain)
        for e in chain:  # allocated to the batteries carried by mass in battrace/compliance/footprints.py
            source = "transport" if e.kind == "leg" else "hub"
            f = e.factor
            _ledger(
                out,
                item,
                item.entity,
                "distribution",
                source,
                e.quantity,
                e.unit,
                e.kg_co2e,
                f.id,
                f.version,
                f":{e.kind}{e.index}",
            )


def _transit(
    state: dict[str, Any],
    item: ChainItem,
    out: Output,
    zones: list[dict[str, Any]] | None = None,
    fix: dict[str, Any] | None = None,
) -> None:
    """Run the consignment's transit rules on a fix or on zones frozen for the trip (battrace/domain/transit.py)."""
    ev = item.envelope
    ts = state.setdefault("transit", {})
    ts["mode"] = state.get("mode")
    results = transit.Results(state["id"])
    if fix is not None:
        point = transit.Fix(
            t=ev.event_time_ms,
            lon=fix["lon"],
            lat=fix["lat"],
            accuracy_m=fix.get("accuracy_m"),
            event_id=ev.event_id,
            seq=state["seq"],
            kind=ev.kind,
            transition=fix.get("geofence") or "NONE",
            zone_id=fix.get("geofence_id"),
            site_id=fix.get("site_id"),
        )
        transit.observe(ts, point, results)
    elif zones:
        registry = transit.Fix(ev.event_time_ms, 0.0, 0.0, None, ev.event_id, state["seq"], ev.kind)
        transit.plan(ts, zones, registry, results)
    out.transit.extend(results.rows)
    out.flags.extend(results.flags)


def apply(state: dict[str, Any], item: ChainItem, log_id: str, log_index: int, sealed_at_ms: int) -> Output:
    """Extend the entity's chain with the item and update its projection; mutates ``state``.

    The event's own rows (events, genealogy) come encoded in its pack (battrace/store/event_rows.py), not from here.
    """
    if already_applied(state, item):
        return Output(skipped=True)
    ev = item.envelope
    out = Output()
    ev_hash = ev.event_hash
    prev = bytes.fromhex(state["head"])
    seq = state["seq"] + 1
    head = chain_step(prev, ev_hash, seq)
    entity_type, entity_id = split_key(item.entity)
    out.sealed = {
        "entity_type": entity_type,
        "entity_id": entity_id,
        "seq": seq,
        "event_id": ev.event_id,
        "event_hash": ev_hash.hex(),
        "prev_hash": prev.hex(),
        "chain_hash": head.hex(),
        "log_id": log_id,
        "log_index": log_index,
        "sealed_at": sealed_at_ms,
    }
    state["seq"], state["head"] = seq, head.hex()
    topic, partition, offset = item.source
    state["applied"][f"{topic}:{partition}"] = offset
    state["updated_at"] = ev.event_time_ms
    if ev.entities and item.entity == ev.entities[0]:  # its own event: one another key carried is not judged
        late = lifecycle.arrived_late(state.get("latest_ms"), ev.event_time_ms, ev.kind)
        if late is not None:
            out.flag(state, item, "lifecycle", late.code, late.detail)
        state["latest_ms"] = lifecycle.latest_applied(state.get("latest_ms"), ev.event_time_ms)
    b = body_of(ev.record)
    if entity_type == BATTERY:
        _battery(state, item, b, out)
    elif entity_type == LOT:
        _lot(state, item, ev.record, out)
    elif entity_type == SHIPMENT:
        _shipment(state, item, b, out)
    else:
        state.update({k: ev.record[k] for k in ("name", "role", "licence_number", "valid_from", "valid_to", "region")})
        state["revoked"] = ev.record["revoked"]
    return out
