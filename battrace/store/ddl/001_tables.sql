-- battrace core tables (database `battrace`). Applied idempotently by every worker at start-up.
-- ReplacingMergeTree keys make a re-insert replace rather than duplicate (at-least-once + replay);
-- non_replicated_deduplication_window makes an identical re-sent block a no-op at insert time.
-- Query with FINAL (or the *_current views) to see one row per key before background merges.

CREATE DATABASE IF NOT EXISTS battrace;

-- Storage and retention. Every hash is stored as its 32 bytes (FixedString(32)); the analyst-facing `events`,
-- `sealed` and `log_entries` are views that show them in hex, over the storage tables `event_store`,
-- `sealed_store` and `log_store`. A fact is stored once: an event's hash is SHA-256 of its canonical bytes (the
-- view computes it) and a sealed item's log entry is the sealed row itself (the view renders its bytes,
-- schemas/log_entries.py). ZSTD above level 3 saves about 10 % of the events' bytes for 4 times the insert and
-- merge CPU, which the pipeline pays on every event: level 3 it is.
-- Big tables are partitioned by month of a time that a replay reproduces (event time, the trace.chain message
-- time), so a re-insert lands in the partition of the row it replaces. Sealed data has no TTL: it is kept for
-- the ten years of EU 2023/1542; rejects' raw bytes expire (battrace/store/retention.py).

-- Every accepted source event, decoded, with the canonical bytes its hash is computed over.
CREATE TABLE IF NOT EXISTS battrace.event_store
(
    event_id         String CODEC(ZSTD(3)),
    source_topic     LowCardinality(String),
    source_partition UInt32 CODEC(ZSTD(1)),
    source_offset    UInt64 CODEC(Delta, ZSTD(1)),
    schema           LowCardinality(String),
    kind             LowCardinality(String),
    event_time       DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    tz_offset        LowCardinality(String),
    entities         Array(String) CODEC(ZSTD(3)),
    battery_ids      Array(String) CODEC(ZSTD(3)),
    lot_ids          Array(String) CODEC(ZSTD(3)),
    shipment_id      String CODEC(ZSTD(3)),
    site_id          LowCardinality(String),
    lat              Nullable(Float64) CODEC(ZSTD(1)),
    lon              Nullable(Float64) CODEC(ZSTD(1)),
    payload          String CODEC(ZSTD(3)) COMMENT 'the decoded record as JSON (recomputed from canonical by verify)',
    canonical        String CODEC(ZSTD(3)) COMMENT 'Avro single-object bytes the event hash is computed over'
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY event_id
SETTINGS non_replicated_deduplication_window = 1000;

-- One row per event (FINAL inside: a query's own FINAL does not reach through a view, and readers rely on it).
CREATE OR REPLACE VIEW battrace.events AS
SELECT
    event_id, source_topic, source_partition, source_offset, schema, kind, event_time, tz_offset, entities,
    battery_ids, lot_ids, shipment_id, site_id, lat, lon, payload, canonical,
    lower(hex(SHA256(canonical))) AS event_hash
FROM battrace.event_store FINAL;

-- One row per (entity_type, entity_id, seq): the per-entity hash chain that verification recomputes.
-- chain_hash = SHA-256(prev_hash || event_hash || seq as 8-byte big-endian); prev_hash of seq 1 = 32 zero bytes.
-- sealed_at is the trace.chain message time: a replay re-seals with the same one.
CREATE TABLE IF NOT EXISTS battrace.sealed_store
(
    entity_type LowCardinality(String),
    entity_id   String CODEC(ZSTD(3)),
    seq         UInt64 CODEC(Delta, ZSTD(1)),
    event_id    String CODEC(ZSTD(3)),
    event_hash  FixedString(32) CODEC(NONE),
    prev_hash   FixedString(32) CODEC(NONE) COMMENT 'stored, not derived: the first live item after an archive drop links to an archived one',
    chain_hash  FixedString(32) CODEC(NONE),
    log_id      LowCardinality(String),
    log_index   UInt64 CODEC(ZSTD(1)),
    sealed_at   DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1))
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(sealed_at)
ORDER BY (entity_type, entity_id, seq)
SETTINGS non_replicated_deduplication_window = 1000;

-- One row per key (FINAL inside), hashes in hex.
CREATE OR REPLACE VIEW battrace.sealed AS
SELECT
    entity_type, entity_id, seq, event_id,
    lower(hex(event_hash)) AS event_hash,
    lower(hex(prev_hash)) AS prev_hash,
    lower(hex(chain_hash)) AS chain_hash,
    log_id, log_index, sealed_at
FROM battrace.sealed_store FINAL;

-- The per-partition RFC 6962 logs (index = trace.chain offset): one entry per index, see schemas/log_entries.py.
-- A sealed item's entry is its sealed_store row: `entry` is stored only where it cannot be rendered from that row
-- (other kinds, and ids that JSON must escape; battrace/store/log_rows.py).
CREATE TABLE IF NOT EXISTS battrace.log_store
(
    log_id    LowCardinality(String),
    log_index UInt64 CODEC(Delta, ZSTD(1)),
    kind      LowCardinality(String) COMMENT 'sealed, redelivered or gap',
    entry     String CODEC(ZSTD(3)) COMMENT 'the entry bytes (compact JSON), empty where it is the sealed row at this index'
)
ENGINE = ReplacingMergeTree
ORDER BY (log_id, log_index)
SETTINGS non_replicated_deduplication_window = 1000;

-- Inclusion and consistency proofs are computed from these leaf hashes; a sealed row must equal its entry.
CREATE OR REPLACE VIEW battrace.log_entries AS
SELECT
    l.log_id AS log_id,
    l.log_index AS log_index,
    l.kind AS kind,
    if(l.entry = '' AND l.kind = 'sealed',
        concat('{"chain_hash":"', lower(hex(s.chain_hash)), '","entity_id":"', s.entity_id, '","entity_type":"',
            s.entity_type, '","event_hash":"', lower(hex(s.event_hash)), '","event_id":"', s.event_id,
            '","kind":"sealed","seq":', toString(s.seq), '}'),
        l.entry) AS entry,
    lower(hex(SHA256(concat(char(0), entry)))) AS leaf_hash
FROM battrace.log_store AS l FINAL
ANY LEFT JOIN battrace.sealed_store AS s FINAL ON s.log_id = l.log_id AND s.log_index = l.log_index;

-- Signed C2SP checkpoints of the logs; each is proven consistent with the previous one before it is stored.
CREATE TABLE IF NOT EXISTS battrace.checkpoints
(
    log_id        LowCardinality(String) COMMENT 'the checkpoint origin line',
    size          UInt64,
    root          String COMMENT 'hex RFC 6962 root',
    note          String COMMENT 'the signed note (C2SP tlog-checkpoint)',
    key_id        String COMMENT 'hex key ids of the signers, comma-separated',
    compact_range Array(String) COMMENT 'hex roots of the perfect subtrees at this size (to resume appending)',
    created_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (log_id, size);

-- Current projections: one row per entity, the highest version (= chain seq) wins.
CREATE TABLE IF NOT EXISTS battrace.batteries
(
    battery_id     String,
    product_type   LowCardinality(String),
    chemistry      LowCardinality(String),
    model          String,
    capacity_ah    Float64,
    energy_kwh     Float64,
    mass_kg        Float64,
    certification  String,
    site_id        String,
    phase          LowCardinality(String),
    status         LowCardinality(String),
    parent_id      String,
    children       Array(String),
    lots           Array(String),
    vin            String,
    vehicle_category LowCardinality(String) COMMENT 'UNECE category (M1, N1, L, M2 ...) from VehicleIntegrated',
    digital_link   String COMMENT 'GS1 Digital Link alias (SGTIN) where the Commissioned event gives one',
    last_event     LowCardinality(String),
    updated_at     DateTime64(3, 'UTC'),
    version        UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY battery_id;

CREATE TABLE IF NOT EXISTS battrace.lots
(
    lot_id                  String,
    product                 String,
    mass_kg                 Float64,
    elements                Array(String),
    fractions               Array(Float64),
    smelter_id              String,
    mine_licences           Array(String),
    origin_country          String,
    refining_kgco2e_per_kg  Nullable(Float64),
    recycled_pre_consumer   Float64,
    recycled_post_consumer  Float64,
    parent_lots             Array(String),
    consumed_kg             Float64,
    assayed                 Bool,
    lab_id                  String,
    accreditation           String,
    certificate_ref         String,
    assayed_at              DateTime64(3, 'UTC'),
    recovered               Bool COMMENT 'an output of our own recycling (post-consumer recycled)',
    yield_fraction          Nullable(Float64) COMMENT 'outputs / inputs of the Recycled event that made it',
    updated_at              DateTime64(3, 'UTC'),
    version                 UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY lot_id;

CREATE TABLE IF NOT EXISTS battrace.shipments
(
    shipment_id        String,
    mode               LowCardinality(String),
    gross_mass_kg      Float64,
    battery_ids        Array(String),
    lot_ids            Array(String),
    transporter_id     String,
    transporter_licence String,
    origin_site        String,
    destination_site   String,
    status             LowCardinality(String),
    positions          UInt32,
    distance_km        Float64,
    transport_kgco2e   Float64,
    updated_at         DateTime64(3, 'UTC'),
    version            UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY shipment_id;

-- Carbon ledger: every line names the factor it used.
CREATE TABLE IF NOT EXISTS battrace.carbon
(
    line_id        String CODEC(ZSTD(3)),
    entity_type    LowCardinality(String),
    entity_id      String CODEC(ZSTD(3)),
    stage          LowCardinality(String) COMMENT 'raw_material | production | distribution | end_of_life',
    source         LowCardinality(String) COMMENT 'transport | refining | energy',
    quantity       Float64 CODEC(ZSTD(1)),
    unit           LowCardinality(String),
    kg_co2e        Float64 CODEC(ZSTD(1)),
    factor_id      LowCardinality(String),
    factor_version LowCardinality(String),
    event_id       String CODEC(ZSTD(3)),
    event_time     DateTime64(3, 'UTC') CODEC(ZSTD(1))
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (entity_type, entity_id, line_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- Rules an accepted event breaks, recorded on the entity (not applied silently): lifecycle transitions,
-- mass balance (from the stream), licensed custody and lot eligibility (from `battrace audit`).
CREATE TABLE IF NOT EXISTS battrace.flags
(
    entity_type LowCardinality(String),
    entity_id   String,
    category    LowCardinality(String) COMMENT 'lifecycle | mass_balance | custody | eligibility',
    code        LowCardinality(String) COMMENT 'machine-readable reason, e.g. already_installed, expired',
    detail      String,
    event_id    String,
    seq         UInt64 COMMENT 'chain seq of the entity when flagged (0 for audit flags)',
    event_time  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (entity_type, entity_id, category, code, event_id);

-- Material flow: cells -> modules -> packs, lots -> cells (mass), packs -> black mass, lots -> recovered lots.
CREATE TABLE IF NOT EXISTS battrace.genealogy
(
    from_type  LowCardinality(String),
    from_id    String CODEC(ZSTD(3)),
    to_type    LowCardinality(String),
    to_id      String CODEC(ZSTD(3)),
    relation   LowCardinality(String) COMMENT 'consumed_into | assembled_into | dismantled_into | recycled_into',
    mass_kg    Nullable(Float64) CODEC(ZSTD(1)),
    event_id   String CODEC(ZSTD(3)),
    event_time DateTime64(3, 'UTC') CODEC(ZSTD(1))
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (to_type, to_id, from_type, from_id, relation, event_id);

-- Mirror of trace.rejects; one row per rejected source message (keyed by its coordinates).
CREATE TABLE IF NOT EXISTS battrace.rejects
(
    source_topic     LowCardinality(String),
    source_partition UInt32,
    source_offset    UInt64,
    reason           LowCardinality(String),
    detail           String,
    event_id         String,
    original         String CODEC(ZSTD(3)) COMMENT 'the original message bytes (expire: battrace/store/retention.py)',
    kafka_timestamp  DateTime64(3, 'UTC'),
    rejected_at      DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'when it was stored: the bytes expire from here'
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(kafka_timestamp)
ORDER BY (source_topic, source_partition, source_offset)
SETTINGS non_replicated_deduplication_window = 1000;
-- Stores made before rejected_at existed get it too (the DDL is applied at every start-up).
ALTER TABLE battrace.rejects ADD COLUMN IF NOT EXISTS rejected_at DateTime64(3, 'UTC') DEFAULT now64(3);
