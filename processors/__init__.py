"""The Faust pipeline: validate -> dedup -> chain/correlate/carbon -> seal -> ClickHouse sink."""
