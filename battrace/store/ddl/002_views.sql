-- Analyst views over the core tables (one row per key, carbon rolled up).

CREATE VIEW IF NOT EXISTS battrace.carbon_by_battery AS
SELECT entity_id AS battery_id, stage, source, round(sum(kg_co2e), 6) AS kg_co2e, count() AS lines
FROM battrace.carbon FINAL
WHERE entity_type = 'battery'
GROUP BY battery_id, stage, source;

CREATE VIEW IF NOT EXISTS battrace.reject_summary AS
SELECT source_topic, reason, count() AS rejected
FROM battrace.rejects FINAL
GROUP BY source_topic, reason;
