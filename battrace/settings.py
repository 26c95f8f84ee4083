"""The one place that defines every setting; each reads a ``BATTRACE_*`` environment variable."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration. Empty ``kafka``/``clickhouse`` mean: use the embedded stack."""

    model_config = SettingsConfigDict(env_prefix="BATTRACE_", extra="ignore")

    home: Path = Field(Path(".battrace"), description="Embedded broker logs, chDB store and keys.")
    kafka: str = Field("", description="bootstrap servers of an external Kafka; empty = embedded Tansu")
    clickhouse: str = Field(
        "", description="clickhouse-connect DSN (http://host:8123 or chdb:///path); empty = embedded chDB"
    )
    schema_registry_url: str = Field("", description="Confluent Schema Registry; empty = single-object framing")
    partitions: int = Field(4, ge=1, description="partitions of every source and internal topic")
    app_id: str = Field("battrace", description="Faust application id (consumer group, changelog prefix)")
    batch_size: int = Field(2000, ge=1, description="source events per ingest batch")
    ingest_process: bool = Field(
        True, description="run the ingest stage in a child process of the worker (a second core); off = in process"
    )
    seal_batch_packs: int = Field(8, ge=1, description="trace.chain packs (up to 500 events each) per seal batch")
    seal_group_batches: int = Field(
        3, ge=1, description="seal batches that may wait for the ClickHouse writer; those waiting are stored together"
    )
    batch_seconds: float = Field(0.1, gt=0, description="longest wait to fill a batch (a full batch goes at once)")
    commit_interval_s: float = Field(0.1, gt=0, description="how often acked offsets are committed (latency)")
    rebalance_timeout_s: float = Field(6.0, gt=0, description="consumer group rebalance timeout of the workers")
    session_timeout_s: float = Field(3.0, gt=0, description="consumer group session timeout (< rebalance timeout)")
    log_origin: str = Field("battrace.example/log", description="origin line prefix of the per-partition logs")
    checkpoint_every: int = Field(10_000, ge=1, description="sign a checkpoint after this many new log entries")
    checkpoint_seconds: float = Field(1.0, gt=0, description="... or this long after the oldest unsigned entry")
    signing_keys: str = Field("", description="comma-separated PRIVATE+KEY+... signer keys; empty = keys dir")
    verifier_keys: str = Field("", description="comma-separated extra verifier keys to trust (name+id+key)")
    public_url: str = Field("http://127.0.0.1:8000", description="where `battrace serve` is reachable (QR links)")
    service_years: float = Field(8.0, gt=0, description="battery service life for the functional unit (warranty)")
    report_checkpoint_wait_s: float = Field(
        30.0, gt=0, description="how long a report waits for a checkpoint covering its delivery"
    )
    report_inputs_wait_s: float = Field(
        15.0, ge=0, description="how long a report waits for lot inputs still in flight before marking them missing"
    )
    report_defer_s: float = Field(
        60.0, ge=0, description="how long a report may wait while the seal stage works through a backlog"
    )
    report_share: float = Field(
        0.25, gt=0, le=1, description="share of the wall clock report work may take while the seal stage works"
    )
    table_store: str = Field("memory://", description="Faust table store URL (memory:// or rocksdb://)")
    future_tolerance_s: int = Field(
        86_400,
        ge=0,
        description="how far an event time may lie after the trusted clock (the Kafka timestamp, never later than "
        "ingest's own clock) before it is rejected",
    )
    max_event_bytes: int = Field(
        1_000_000,
        ge=1,
        description="largest source message accepted; a larger one is rejected as oversize (Kafka's default "
        "message.max.bytes is 1,048,588 bytes, so a default Kafka refuses larger messages anyway)",
    )

    @property
    def clickhouse_dsn(self) -> str:
        return self.clickhouse or f"chdb:///{self.clickhouse_path.resolve()}"

    @property
    def clickhouse_path(self) -> Path:
        return self.home / "clickhouse"

    @property
    def broker_dir(self) -> Path:
        return self.home / "broker"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def key_name(self) -> str:
        """Signing key name: the log origin prefix (C2SP: the key name should name the log)."""
        return self.log_origin

    @property
    def ingest_group(self) -> str:
        """The ingest stage's consumer group (plain Kafka group; the seal stage's group is ``app_id``)."""
        return f"{self.app_id}-ingest"

    @property
    def rejects_group(self) -> str:
        """The rejects sink's consumer group (plain Kafka group, processors/reject_stage.py)."""
        return f"{self.app_id}-rejects"

    @property
    def report_group(self) -> str:
        """The report stage's consumer group (plain Kafka group, processors/report_stage.py)."""
        return f"{self.app_id}-reports"

    def log_id(self, partition: int) -> str:
        """Origin line of the log kept for one trace.chain partition."""
        return f"{self.log_origin}/{partition}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
