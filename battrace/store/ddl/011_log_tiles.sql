-- Stored Merkle tiles: the root of every complete aligned subtree of height 8, 16, 24, 32 or 40 of each log (node
-- `tile_index` of `height` covers log indexes [tile_index * 2^height, (tile_index + 1) * 2^height)), written by the
-- seal stage with the entries that complete it. Proofs read these and the leaves of at most two 256-entry blocks
-- instead of the whole log (battrace/tlog/tiles.py); they are checked against signed roots, so a wrong hash here
-- makes proofs fail and is named by `battrace verify --all`. Under 0.2 bytes per entry: not partitioned by month,
-- never archived or dropped, so proofs after an archive drop use them too.
CREATE TABLE IF NOT EXISTS battrace.log_tiles
(
    log_id     LowCardinality(String),
    height     UInt8,
    tile_index UInt64,
    hash       FixedString(32) CODEC(NONE)
)
ENGINE = ReplacingMergeTree
ORDER BY (log_id, height, tile_index)
SETTINGS non_replicated_deduplication_window = 1000;

-- Vertical merges, as battrace/store/ddl/005_merge_memory.sql says why.
ALTER TABLE battrace.log_tiles MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
