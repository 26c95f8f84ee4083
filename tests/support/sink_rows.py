"""An events row with every awkward value the sink must carry: UInt64 past Int64, NULLs, non-ASCII text,
bytes that are not UTF-8, and a genealogy edge of it. Shared by the sink's unit tests and its tests on real chDB."""

import hashlib

CANONICAL = b"\xc3\x01\xff\x00avro"  # bytes that are not UTF-8

EVENT = {
    "event_id": "urn:uuid:6f1c0e2a-0000-4000-8000-000000000001",
    "source_topic": "mes.events",
    "source_partition": 3,
    "source_offset": 2**63 + 5,  # UInt64 beyond Int64
    "schema": "battrace.Commissioned",
    "kind": "Commissioned",
    "event_time": 1_767_923_717_393,  # epoch ms
    "tz_offset": "+08:00",
    "entities": ["battery:B1", "lot:L1"],
    "battery_ids": ["B1"],
    "lot_ids": [],
    "shipment_id": "",
    "site_id": "站点-7",  # non-ASCII text
    "lat": None,
    "lon": 121.5,
    "payload": '{"note":"µ ✓"}',
    "canonical": CANONICAL,
    "event_hash": hashlib.sha256(CANONICAL).hexdigest(),  # the events view computes it from the stored bytes
}
EDGE = {
    "from_type": "lot",
    "from_id": "L1",
    "to_type": "battery",
    "to_id": "B1",
    "relation": "consumed_into",
    "mass_kg": 3,  # an int from a producer: a Float64 column refuses a MsgPack integer, so the encoder coerces
    "event_id": EVENT["event_id"],
    "event_time": EVENT["event_time"],
}
