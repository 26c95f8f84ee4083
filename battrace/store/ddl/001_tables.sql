-- battrace core tables (database `battrace`). Applied idempotently by every worker at start-up.
-- ReplacingMergeTree keys make a re-insert replace rather than duplicate (at-least-once + replay);
-- non_replicated_deduplication_window makes an identical re-sent block a no-op at insert time.
-- Query with FINAL (or the *_current views) to see one row per key before background merges.

CREATE DATABASE IF NOT EXISTS battrace;

-- Every accepted source event, decoded, with the canonical bytes its hash is computed over.
CREATE TABLE IF NOT EXISTS battrace.events
(
    event_id         String,
    source_topic     LowCardinality(String),
    source_partition UInt32,
    source_offset    UInt64,
    schema           LowCardinality(String),
    kind             LowCardinality(String),
    event_time       DateTime64(3, 'UTC'),
    tz_offset        String,
    entities         Array(String),
    battery_ids      Array(String),
    lot_ids          Array(String),
    shipment_id      String,
    site_id          String,
    lat              Nullable(Float64),
    lon              Nullable(Float64),
    payload          String COMMENT 'the decoded record as JSON',
    canonical        String COMMENT 'Avro single-object bytes the event hash is computed over',
    event_hash       String COMMENT 'hex SHA-256(canonical)'
)
ENGINE = ReplacingMergeTree
ORDER BY event_id
SETTINGS non_replicated_deduplication_window = 1000;

-- One row per (entity_type, entity_id, seq): the per-entity hash chain that verification recomputes.
-- chain_hash = SHA-256(prev_hash || event_hash || seq as 8-byte big-endian); prev_hash of seq 1 = 32 zero bytes.
CREATE TABLE IF NOT EXISTS battrace.sealed
(
    entity_type LowCardinality(String),
    entity_id   String,
    seq         UInt64,
    event_id    String,
    event_hash  String,
    prev_hash   String,
    chain_hash  String,
    log_id      LowCardinality(String),
    log_index   UInt64,
    sealed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (entity_type, entity_id, seq)
SETTINGS non_replicated_deduplication_window = 1000;

-- The per-partition RFC 6962 logs (index = trace.chain offset): one entry per index, see schemas/log_entries.py.
-- Inclusion and consistency proofs are computed from these leaf hashes; a sealed row must equal its entry.
CREATE TABLE IF NOT EXISTS battrace.log_entries
(
    log_id    LowCardinality(String),
    log_index UInt64,
    kind      LowCardinality(String) COMMENT 'sealed, redelivered or gap',
    entry     String COMMENT 'the leaf entry bytes (compact JSON)',
    leaf_hash String COMMENT 'hex SHA-256(0x00 || entry)'
)
ENGINE = ReplacingMergeTree
ORDER BY (log_id, log_index)
SETTINGS non_replicated_deduplication_window = 1000;

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
    line_id        String,
    entity_type    LowCardinality(String),
    entity_id      String,
    stage          LowCardinality(String) COMMENT 'raw_material | production | distribution | end_of_life',
    source         LowCardinality(String) COMMENT 'transport | refining | energy',
    quantity       Float64,
    unit           LowCardinality(String),
    kg_co2e        Float64,
    factor_id      String,
    factor_version String,
    event_id       String,
    event_time     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
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
    from_id    String,
    to_type    LowCardinality(String),
    to_id      String,
    relation   LowCardinality(String) COMMENT 'consumed_into | assembled_into | dismantled_into | recycled_into',
    mass_kg    Nullable(Float64),
    event_id   String,
    event_time DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
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
    original         String COMMENT 'the original message bytes',
    kafka_timestamp  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (source_topic, source_partition, source_offset)
SETTINGS non_replicated_deduplication_window = 1000;
