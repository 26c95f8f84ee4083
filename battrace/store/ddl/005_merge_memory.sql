-- Merge memory. A horizontal merge reads every column of every part at once (a buffer per column and part), and
-- ClickHouse merges horizontally below 11 columns: merges of `sealed`, `log_entries` and `carbon`
-- held ~150 MB of the worker's peak with a million batteries in embedded chDB. A vertical merge reads the
-- sorting key first, then one column at a time; merges of fewer than 131,072 rows stay horizontal (cheap).
-- ALTER, not CREATE settings, so stores made before this file get it too (applied at every start-up).
ALTER TABLE battrace.event_store MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
ALTER TABLE battrace.sealed_store MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
ALTER TABLE battrace.log_store MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
ALTER TABLE battrace.checkpoints MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
ALTER TABLE battrace.batteries MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
ALTER TABLE battrace.lots MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
ALTER TABLE battrace.shipments MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
ALTER TABLE battrace.carbon MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
ALTER TABLE battrace.flags MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
ALTER TABLE battrace.genealogy MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
ALTER TABLE battrace.rejects MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
ALTER TABLE battrace.lot_eligibility MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
ALTER TABLE battrace.footprints MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
ALTER TABLE battrace.recycled_content MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
ALTER TABLE battrace.reports MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
ALTER TABLE battrace.report_reviews MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
ALTER TABLE battrace.audit_runs MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
