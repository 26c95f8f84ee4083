-- Transit events of consignments (battrace/domain/transit.py): zone visits with dwell, stops, route deviations,
-- custody handovers and the fixes the rules set aside, each from the consignment's own GPS fixes in chain order.
-- Written by the seal stage, recomputed by `battrace verify --all`. Rows that break a rule carry its flag code
-- (the same finding is in `flags`, category transit).
CREATE TABLE IF NOT EXISTS battrace.transit_events
(
    shipment_id  String,
    kind         LowCardinality(String) COMMENT 'visit | stop | deviation | handover | source_check | fix_late | fix_spike | fix_filtered',
    zone_id      String COMMENT 'zone visited, stopped in, deviated from or handed over in, empty: none',
    zone_version UInt32,
    start_time   DateTime64(3, 'UTC') COMMENT 'visit entry, stop start, first fix off route, else the event time',
    end_time     DateTime64(3, 'UTC') COMMENT 'visit exit, last stopped fix, first fix back on route',
    duration_s   Float64 COMMENT 'end_time - start_time: the dwell of a visit, the length of a stop or deviation',
    distance_m   Float64 COMMENT 'the largest distance of a deviation beyond the corridor, or how far outside for a source check',
    code         LowCardinality(String) COMMENT 'flag code of a broken rule, empty: none',
    closed_by    LowCardinality(String) COMMENT 'exit | gap | delivered | moved | back_on_route, empty for point events',
    detail       String,
    event_id     String COMMENT 'the event whose fix decided the row',
    seq          UInt64 COMMENT 'its seq in the shipment chain'
)
ENGINE = ReplacingMergeTree
ORDER BY (shipment_id, kind, zone_id, start_time, event_id)
SETTINGS non_replicated_deduplication_window = 1000, vertical_merge_algorithm_min_columns_to_activate = 1;
