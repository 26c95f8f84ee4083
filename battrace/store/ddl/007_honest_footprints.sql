-- Footprints whose totals are the sum of their parts. A stage a battery has no data for is NULL with a reason
-- (footprints.missing_reasons), so it can neither count as 0 in a mean nor hide inside a total of the stages that
-- do have data. Replaces the view of stores made before it.

ALTER TABLE battrace.footprints
    ADD COLUMN IF NOT EXISTS missing_reasons Array(String) COMMENT 'one "stage: why" per missing stage'
    AFTER missing_stages;

-- Per model, plant and product type: each stage's mean over the batteries that have data for it (with how many
-- do), and the total as the sum of those four means: NULL, with total_missing saying why, while a stage has no
-- data in the group. The mean total over the complete footprints alone is beside it.
CREATE OR REPLACE VIEW battrace.footprint_by_model_plant AS
SELECT
    model,
    site_id,
    product_type,
    count() AS batteries,
    countIf(complete) AS complete_batteries,
    countIf(raw_material_kg IS NOT NULL) AS with_raw_material,
    countIf(production_kg IS NOT NULL) AS with_production,
    countIf(distribution_kg IS NOT NULL) AS with_distribution,
    countIf(end_of_life_kg IS NOT NULL) AS with_end_of_life,
    avg(raw_material_per_kwh) AS avg_raw_material_per_kwh,
    min(raw_material_per_kwh) AS min_raw_material_per_kwh,
    max(raw_material_per_kwh) AS max_raw_material_per_kwh,
    avg(production_per_kwh) AS avg_production_per_kwh,
    min(production_per_kwh) AS min_production_per_kwh,
    max(production_per_kwh) AS max_production_per_kwh,
    avg(distribution_per_kwh) AS avg_distribution_per_kwh,
    min(distribution_per_kwh) AS min_distribution_per_kwh,
    max(distribution_per_kwh) AS max_distribution_per_kwh,
    avg(end_of_life_per_kwh) AS avg_end_of_life_per_kwh,
    min(end_of_life_per_kwh) AS min_end_of_life_per_kwh,
    max(end_of_life_per_kwh) AS max_end_of_life_per_kwh,
    avg_raw_material_per_kwh + avg_production_per_kwh + avg_distribution_per_kwh + avg_end_of_life_per_kwh
        AS avg_total_per_kwh,
    arrayStringConcat(arrayFilter(x -> x != '', [
        if(with_raw_material = 0, 'raw_material: no battery of the group has data', ''),
        if(with_production = 0, 'production: no battery of the group has data', ''),
        if(with_distribution = 0, 'distribution: no battery of the group has been delivered', ''),
        if(with_end_of_life = 0, 'end_of_life: no battery of the group has been collected, dismantled and recycled', '')
    ]), ' | ') AS total_missing,
    if(complete_batteries > 0, avgIf(total_per_kwh, complete), NULL) AS avg_complete_total_per_kwh,
    if(complete_batteries > 0, minIf(total_per_kwh, complete), NULL) AS min_total_per_kwh,
    if(complete_batteries > 0, maxIf(total_per_kwh, complete), NULL) AS max_total_per_kwh
FROM battrace.footprints FINAL
GROUP BY model, site_id, product_type;

ALTER TABLE battrace.carbon
    COMMENT COLUMN source 'transport (a leg) | hub | refining | energy | collection | dismantling | recycling';
