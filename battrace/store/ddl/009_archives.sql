-- What `battrace archive --drop` moved out of the live store, so that `battrace verify --all` can tell archived
-- history from missing history. One row per log: the signed checkpoint the archive ends at (the live log starts
-- at its size), its compact range (to go on appending leaves), the archive's month and its manifest's SHA-256.
CREATE TABLE IF NOT EXISTS battrace.archives
(
    log_id          LowCardinality(String),
    size            UInt64 COMMENT 'entries archived: the live log starts at this index',
    root            String COMMENT 'hex RFC 6962 root at size',
    note            String COMMENT 'the signed checkpoint of size (C2SP tlog-checkpoint)',
    compact_range   Array(String) COMMENT 'hex roots of the perfect subtrees at size',
    until           String COMMENT 'YYYY-MM: the last month the archive holds',
    manifest_sha256 String COMMENT 'hex SHA-256 of the archive manifest.json',
    archived_at     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(archived_at)
ORDER BY (log_id);

-- Each archived entity's head at its log's archive checkpoint (the heads that checkpoint's heads line commits to,
-- in their tree order): a live chain of that entity goes on from this length and chain hash.
CREATE TABLE IF NOT EXISTS battrace.archived_heads
(
    log_id     LowCardinality(String),
    position   UInt64 COMMENT 'leaf index in the heads tree of the archive checkpoint',
    entity     String COMMENT '<type>:<id>',
    length     UInt64 COMMENT 'seq of the last archived record of the entity',
    chain_hash String COMMENT 'hex chain hash of that record'
)
ENGINE = ReplacingMergeTree
ORDER BY (log_id, position);

-- Vertical merges, as battrace/store/ddl/005_merge_memory.sql says why.
ALTER TABLE battrace.archives MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
ALTER TABLE battrace.archived_heads MODIFY SETTING vertical_merge_algorithm_min_columns_to_activate = 1;
