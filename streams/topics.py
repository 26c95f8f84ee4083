"""The topic catalogue: every topic the system reads or writes, defined once."""

from __future__ import annotations

from dataclasses import dataclass, field

from battrace.domain.sources import ASSAY_RESULT, LICENSED_ENTITY, LOGISTICS_EVENT, MES_EVENT, REPORT_EVENT


@dataclass(frozen=True)
class TopicSpec:
    name: str
    doc: str
    compacted: bool = False
    config: dict[str, str] = field(default_factory=dict)
    value_schema: str | None = None  # the Avro contract of a source topic's values (registered as <topic>-value)


# The largest message a stage sends (the ingest producer's request limit) and so the most a consumer of trace.chain
# must fetch at once; a 500-event pack is ~150 kB (LZ4-compressed).
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# Source messages carry the broker's append time, not the producer's: ingest checks event times against it
# (processors/validate.py; the embedded Tansu broker keeps the producer's timestamp whatever this says).
APPEND_TIME = {"message.timestamp.type": "LogAppendTime"}
# Kafka is the way in, not the record: once sealed (or rejected), a message lives in ClickHouse, so source and
# pipeline topics keep a week (Kafka's own default, stated so that a broker configured otherwise does not change it):
# time for a worker that was down to catch up. What must outlive that is compacted (the registry: each party's latest
# record) or kept forever (the dedup state, below); Faust's table changelogs are compacted by Faust.
WEEK = {"retention.ms": str(7 * 24 * 3600 * 1000)}
MES = TopicSpec(
    "mes.events",
    "MES production and lifecycle events (Avro MesEvent)",
    config={**APPEND_TIME, **WEEK},
    value_schema=MES_EVENT,
)
LOGISTICS = TopicSpec(
    "logistics.events",
    "freight consignments, legs and GPS positions (Avro LogisticsEvent)",
    config={**APPEND_TIME, **WEEK},
    value_schema=LOGISTICS_EVENT,
)
ASSAY = TopicSpec(
    "assay.results",
    "lab assays of material lots (Avro AssayResult)",
    config={**APPEND_TIME, **WEEK},
    value_schema=ASSAY_RESULT,
)
REGISTRY = TopicSpec(
    "registry.entities",
    "licensed dismantlers, transporters, smelters, recyclers and labs (Avro LicensedEntity)",
    compacted=True,
    config={"cleanup.policy": "compact", **APPEND_TIME},
    value_schema=LICENSED_ENTITY,
)
REPORTS = TopicSpec(
    "reports.events",
    "traceability reports drafted, co-signed or refused, keyed by consignment (Avro ReportEvent)",
    config={**APPEND_TIME, **WEEK},
    value_schema=REPORT_EVENT,
)
EPCIS_CAPTURE = TopicSpec(
    "epcis.capture",
    "partners' GS1 EPCIS 2.0 documents (JSON), each event mapped to a native event and sealed like one "
    "(battrace/epcis/capture_message.py)",
    config={**APPEND_TIME, **WEEK},
)
CHAIN = TopicSpec(
    "trace.chain",
    "accepted events packed per entity partition (MessagePack): the per-entity sequencer",
    config={**WEEK},
)
# The dedup state's changelog is replayed from its start by every ingest that takes a partition: a record that
# retention deleted would be an event id forgotten, and its re-sent event sealed twice. Kafka deletes records
# older than its retention (7 days by default) unless a topic says otherwise.
KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}
EVENT_IDS = TopicSpec(
    "trace.event_ids",
    "accepted event ids and their source coordinates, packed per source partition (dedup state)",
    config={**KEEP_FOREVER},
)
REJECTS = TopicSpec(
    "trace.rejects", "invalid events with the original bytes and a machine-readable reason", config={**WEEK}
)
CHECKPOINTS = TopicSpec("trace.checkpoints", "signed checkpoints of the per-partition logs", config={**WEEK})
DELIVERIES = TopicSpec(
    "trace.deliveries", "sealed consignment deliveries: each triggers a traceability report", config={**WEEK}
)

SOURCES: tuple[TopicSpec, ...] = (MES, LOGISTICS, ASSAY, REGISTRY, REPORTS, EPCIS_CAPTURE)
INTERNAL: tuple[TopicSpec, ...] = (CHAIN, EVENT_IDS, REJECTS, CHECKPOINTS, DELIVERIES)
ALL: tuple[TopicSpec, ...] = SOURCES + INTERNAL
