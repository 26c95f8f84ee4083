-- Recycled-content claims that count only what the audit can stand behind (battrace/domain/recycled_claims.py):
-- lots that are ineligible or behind a step whose outputs exceeded its inputs count as not recycled, and each
-- recycled mass left out is listed with its reasons. What cannot be known is NULL with a reason, never 0.
-- Extends 003_compliance.sql's recycled_content table; replaces the view of stores made before it.

ALTER TABLE battrace.recycled_content
    MODIFY COLUMN element_kg Nullable(Float64) COMMENT 'NULL: the balance could not be computed (missing_reason)';
ALTER TABLE battrace.recycled_content MODIFY COLUMN pre_consumer_kg Nullable(Float64);
ALTER TABLE battrace.recycled_content MODIFY COLUMN post_consumer_kg Nullable(Float64);
ALTER TABLE battrace.recycled_content
    ADD COLUMN IF NOT EXISTS excluded_kg Nullable(Float64)
        COMMENT 'recycled element kg of input lots the claim may not count (recycled_exclusions)' AFTER note,
    ADD COLUMN IF NOT EXISTS excluded_lots Array(String) COMMENT 'input lots with an exclusion row' AFTER excluded_kg,
    ADD COLUMN IF NOT EXISTS missing_reason String
        COMMENT 'why share or meets_* is NULL (no such element, unassayed lots, inconsistent assay), else empty'
        AFTER excluded_lots;
ALTER TABLE battrace.recycled_content
    COMMENT COLUMN meets_2031 'NULL: element absent or balance incomplete (missing_reason), excluded lots never count';

-- One row per battery, element and input lot whose recycled mass the claim leaves out.
CREATE TABLE IF NOT EXISTS battrace.recycled_exclusions
(
    battery_id  String,
    element     LowCardinality(String),
    lot_id      String,
    reasons     Array(String) COMMENT 'lot_ineligible | mass_balance_exceeded | origin_unknown',
    details     Array(String) COMMENT 'one per reason: the eligibility gap or mass-balance flag it comes from',
    excluded_kg Float64 COMMENT 'element kg of the lot in this battery that would otherwise count as recycled'
)
ENGINE = ReplacingMergeTree
ORDER BY (battery_id, element, lot_id);

-- The Art. 8 declaration per model, plant and production year. A group's share is NULL, with declared_missing
-- saying why, while any battery's balance in it is incomplete; excluded_kg is what the claim left out.
CREATE OR REPLACE VIEW battrace.recycled_by_model_plant_year AS
SELECT
    model,
    site_id,
    toYear(produced_at) AS year,
    element,
    product_type,
    count() AS batteries,
    sum(element_kg) AS total_element_kg,
    sum(pre_consumer_kg) AS total_pre_consumer_kg,
    sum(post_consumer_kg) AS total_post_consumer_kg,
    sum(excluded_kg) AS total_excluded_kg,
    min(complete) AS all_complete,
    countIf(NOT complete) AS incomplete_batteries,
    if(all_complete AND total_element_kg > 0, (total_pre_consumer_kg + total_post_consumer_kg) / total_element_kg, NULL)
        AS declared_share,
    min(share) AS min_battery_share,
    max(share) AS max_battery_share,
    any(min_share_2031) AS target_2031,
    any(min_share_2036) AS target_2036,
    if(declared_share IS NULL, NULL, toBool(declared_share + 1e-9 >= target_2031)) AS declared_meets_2031,
    if(declared_share IS NULL, NULL, toBool(declared_share + 1e-9 >= target_2036)) AS declared_meets_2036,
    multiIf(
        NOT all_complete, concat(toString(incomplete_batteries), ' of the batteries have an incomplete balance: ',
            arrayStringConcat(arraySlice(arraySort(groupUniqArrayIf(missing_reason, missing_reason != '')), 1, 3), ' | ')),
        NOT (total_element_kg > 0), concat('no ', element, ' in the assayed input lots of the group'),
        '') AS declared_missing,
    countIf(meets_2031) AS batteries_meeting_2031,
    countIf(meets_2036) AS batteries_meeting_2036
FROM battrace.recycled_content FINAL
GROUP BY model, site_id, year, element, product_type;

-- Vertical merges, as battrace/store/ddl/005_merge_memory.sql says why.
ALTER TABLE battrace.recycled_exclusions MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
