-- Signed traceability reports, one per delivered consignment (made when its Delivered event is sealed).
CREATE TABLE IF NOT EXISTS battrace.reports
(
    shipment_id    String,
    delivered_at   DateTime64(3, 'UTC'),
    report_hash    String COMMENT 'hex SHA-256 of the RFC 8785 report body',
    document       String COMMENT 'the signed report document (RFC 8785 JSON, docs/report.schema.json)',
    missing_fields Array(String) COMMENT 'report fields whose inputs were missing (never defaulted)',
    signed_by      Array(String) COMMENT 'role:key_id of each approval signature',
    battery_ids    Array(String),
    lot_ids        Array(String),
    created_at     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY shipment_id;
