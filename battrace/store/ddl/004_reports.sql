-- Traceability reports: rows derived from the report steps sealed into each consignment's chain
-- (battrace/store/report_rows.py). A consignment's current report is its newest draft; `verify` recomputes these
-- rows from the sealed events and names any consignment whose rows differ.
CREATE TABLE IF NOT EXISTS battrace.reports
(
    shipment_id    String,
    event_id       String COMMENT 'the sealed ReportDrafted event this row is derived from',
    drafted_at     DateTime64(3, 'UTC') COMMENT 'event time of the draft (sealed)',
    delivered_at   DateTime64(3, 'UTC'),
    report_hash    String COMMENT 'hex SHA-256 of the RFC 8785 report body',
    document       String COMMENT 'the drafted report document with its QA signature (RFC 8785 JSON, docs/report.schema.json)',
    missing_fields Array(String) COMMENT 'report fields whose inputs were missing (never defaulted)',
    signed_by      Array(String) COMMENT 'role:key_id of each signature in the drafted document',
    battery_ids    Array(String),
    lot_ids        Array(String)
)
ENGINE = ReplacingMergeTree
ORDER BY (shipment_id, event_id);

-- Reviews of drafted reports by the third-party verifier: a co-signature, or a refusal with reasons.
CREATE TABLE IF NOT EXISTS battrace.report_reviews
(
    shipment_id String,
    event_id    String COMMENT 'the sealed ReportCosigned or ReportRefused event',
    reviewed_at DateTime64(3, 'UTC') COMMENT 'event time of the review (sealed)',
    report_hash String COMMENT 'the report the review is about',
    verdict     LowCardinality(String) COMMENT 'cosigned | refused',
    role        LowCardinality(String),
    key_id      String,
    signature   String COMMENT 'the signature entry (RFC 8785 JSON): over the report hash, or over the refusal',
    reasons     Array(String) COMMENT 'why the reviewer refused (empty for a co-signature)'
)
ENGINE = ReplacingMergeTree
ORDER BY (shipment_id, event_id);
