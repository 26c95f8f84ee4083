"""The embedded stack: a real Kafka-protocol broker (Tansu) and the real ClickHouse engine (chDB)."""
