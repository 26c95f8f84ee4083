-- Compliance audit results (`battrace audit`, battrace/compliance/): a pure function of the sealed data.
-- One row per entity key; a re-run re-inserts every row (same key replaces) and deletes keys it no longer
-- produces, so the tables always equal what the data implies. Query with FINAL.

-- Lot eligibility for compliant output batches, with every chain-of-custody gap of the lot and its ancestors.
CREATE TABLE IF NOT EXISTS battrace.lot_eligibility
(
    lot_id    String,
    lot_class LowCardinality(String) COMMENT 'primary | black_mass | feedstock | recovered',
    required  Array(String) COMMENT 'custody step kinds the lot must have (Refined = licensed smelter of its assay)',
    eligible  Bool,
    reasons   Array(String) COMMENT 'one per gap: the lot or ancestor, the way it flows into the lot, code and why',
    gaps      Array(String) COMMENT 'gap codes in reasons order (custody FLAGS or GAPS of battrace/domain/custody.py)',
    gap_nodes Array(String) COMMENT 'the lot or ancestor (lot or dismantled pack) each gap is on'
)
ENGINE = ReplacingMergeTree
ORDER BY lot_id;

-- Carbon footprint per battery (EU 2023/1542 Art. 7): kg CO2e per stage and per kWh of lifetime energy.
CREATE TABLE IF NOT EXISTS battrace.footprints
(
    battery_id            String,
    model                 String,
    site_id               String,
    product_type          LowCardinality(String),
    vehicle_category      LowCardinality(String) COMMENT 'category whose cycles were used (M1 when unknown)',
    energy_kwh            Float64,
    cycles_per_year       Float64,
    service_years         Float64,
    e_total_kwh           Float64 COMMENT 'energy_kwh x cycles_per_year x service_years',
    raw_material_kg       Nullable(Float64) COMMENT 'NULL: no ledger line for the stage (missing, not zero)',
    production_kg         Nullable(Float64),
    distribution_kg       Nullable(Float64),
    end_of_life_kg        Nullable(Float64),
    total_kg              Float64 COMMENT 'sum of the stages with data',
    raw_material_per_kwh  Nullable(Float64),
    production_per_kwh    Nullable(Float64),
    distribution_per_kwh  Nullable(Float64),
    end_of_life_per_kwh   Nullable(Float64),
    total_per_kwh         Float64,
    complete              Bool COMMENT 'every stage has data',
    missing_stages        Array(String),
    assumptions           Array(String),
    factor_ids            Array(String) COMMENT 'factor_id@version of every ledger line that went in'
)
ENGINE = ReplacingMergeTree
ORDER BY battery_id;

-- Recycled content per battery and element by mass balance through the genealogy (EU 2023/1542 Art. 8).
CREATE TABLE IF NOT EXISTS battrace.recycled_content
(
    battery_id       String,
    element          LowCardinality(String),
    model            String,
    site_id          String,
    product_type     LowCardinality(String),
    produced_at      DateTime64(3, 'UTC') COMMENT 'Commissioned event time (the declaration is per year)',
    element_kg       Float64,
    pre_consumer_kg  Float64,
    post_consumer_kg Float64,
    share            Nullable(Float64) COMMENT 'recycled / element kg, NULL when the element is absent',
    min_share_2031   Nullable(Float64),
    min_share_2036   Nullable(Float64),
    meets_2031       Nullable(Bool) COMMENT 'NULL: element absent. An incomplete balance never meets',
    meets_2036       Nullable(Bool),
    complete         Bool COMMENT 'every input lot was assayed',
    unassayed_lots   Array(String),
    note             String COMMENT 'why the balance could not be computed (inconsistent assay data), else empty'
)
ENGINE = ReplacingMergeTree
ORDER BY (battery_id, element);

-- The per-model views over these tables are 007_honest_footprints.sql and 010_recycled_claims.sql.

-- When `battrace audit` ran, and how far each log was then: the audit is a function of exactly those entries, so
-- `verify` compares the audit rows only while no log has grown since (battrace/verify/derived_audit.py).
CREATE TABLE IF NOT EXISTS battrace.audit_runs
(
    run_at   DateTime64(3, 'UTC'),
    log_sizes Map(String, UInt64) COMMENT 'log id -> number of log entries the audit read'
)
ENGINE = MergeTree
ORDER BY run_at;
