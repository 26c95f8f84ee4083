"""The one place that defines every setting; each reads a ``BATTRACE_*`` environment variable."""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A witness's verifier key (C2SP tlog-cosignature): name+8 hex key id+base64(0x04 || 32-byte Ed25519 key).
_COSIGNATURE_KEY_TYPE = 0x04
_ED25519_KEY_SIZE = 32
PASSPORT_TOKEN_TIERS = ("legitimate_interest", "authority")  # battrace/passport/access.py RESTRICTED
PASSPORT_TOKENS_FIX = (
    "write each entry as TIER:SHA256HEX with TIER one of legitimate_interest, authority and SHA256HEX the SHA-256 of "
    "the token in 64 lowercase hex digits (`printf %s TOKEN | sha256sum`), comma-separated"
)
WITNESS_FIX = "write each witness as 'NAME+KEYID+KEY URL' (`battrace witness key` prints the key), comma-separated"


class Settings(BaseSettings):
    """Runtime configuration. Empty ``kafka``/``clickhouse`` mean: use the embedded stack."""

    model_config = SettingsConfigDict(env_prefix="BATTRACE_", extra="ignore")

    home: Path = Field(Path(".battrace"), description="Embedded broker logs, chDB store and keys.")
    kafka: str = Field("", description="bootstrap servers of an external Kafka; empty = a broker started here")
    broker: Literal["tansu", "kafka"] = Field(
        "tansu",
        description="the broker started here when BATTRACE_KAFKA is empty: the bundled Tansu, or Apache Kafka "
        "(KRaft, jars fetched from Maven Central once; needs Java 17+ and Maven, else Tansu with a note)",
    )
    broker_cache: Path | None = Field(
        None, description="where Apache Kafka's jars are kept; empty = $XDG_CACHE_HOME/battrace (~/.cache/battrace)"
    )
    clickhouse: str = Field(
        "", description="clickhouse-connect DSN (http://host:8123 or chdb:///path); empty = embedded chDB"
    )
    schema_registry_url: str = Field(
        "",
        description="Confluent Schema Registry: producers register and frame values with it, ingest reads writer "
        "schemas from it; empty = single-object framing",
    )
    schema_dir: Path | None = Field(
        None,
        description="a directory of producers' .avsc writer schemas, so ingest can resolve single-object events "
        "written with a newer compatible schema; empty = the shipped contracts (and the registry, if set)",
    )
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
    rebalance_timeout_s: float | None = Field(
        None, gt=0, description="consumer group rebalance timeout of the workers; empty = 6 s on Tansu, 20 s on Kafka"
    )
    session_timeout_s: float | None = Field(
        None,
        gt=0,
        description="consumer group session timeout (< rebalance timeout); empty = 3 s on Tansu, 10 s on Kafka "
        "(whose brokers refuse less than group.min.session.timeout.ms, 6 s by default)",
    )
    log_origin: str = Field("battrace.example/log", description="origin line prefix of the per-partition logs")
    checkpoint_every: int = Field(10_000, ge=1, description="sign a checkpoint after this many new log entries")
    checkpoint_seconds: float = Field(1.0, gt=0, description="... or this long after the oldest unsigned entry")
    signing_keys: str = Field("", description="comma-separated PRIVATE+KEY+... signer keys; empty = keys dir")
    verifier_keys: str = Field("", description="comma-separated extra verifier keys to trust (name+id+key)")
    witnesses: str = Field(
        "",
        description="comma-separated witnesses the worker asks to cosign checkpoints, each 'NAME+KEYID+KEY URL' "
        "(the witness's verifier key, a space, its URL; a key without URL is pinned for `verify` only)",
    )
    witness_quorum: int = Field(
        0, ge=0, description="witness cosignatures `battrace verify` requires on a checkpoint (0 = none required)"
    )
    witness_timeout_s: float = Field(
        5.0, gt=0, le=60, description="how long the worker waits for one witness answer before going without it"
    )
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
    fault: Literal["", "ingest_after_send"] = Field(
        "",
        description="test only: a crash on purpose, so a test can reach a window no timing can; ingest_after_send = "
        "the ingest stage exits once the sends of its first batch are acknowledged, before it commits its offsets; "
        "empty (always, outside tests) = none",
    )

    passport_tokens: str = Field(
        "",
        description="comma-separated TIER:SHA256HEX entries: the SHA-256 of each bearer token `GET /passport/{code}` "
        "accepts and the audience it grants (legitimate_interest or authority); raw tokens are never stored",
    )

    @field_validator("passport_tokens")
    @classmethod
    def _passport_tokens_parse(cls, value: str) -> str:
        """Refuse a malformed entry at start-up: a typo must not silently lock a recycler or an authority out."""
        parse_passport_tokens(value)
        return value

    @property
    def passport_token_hashes(self) -> list[tuple[str, str]]:
        """(audience, SHA-256 hex of its token) of every configured passport token."""
        return parse_passport_tokens(self.passport_tokens)

    @field_validator("witnesses")
    @classmethod
    def _witnesses_parse(cls, value: str) -> str:
        """Refuse a malformed entry at start-up, with the fix: a typo must not silently drop a witness."""
        parse_witnesses(value)
        return value

    @field_validator("witness_quorum")
    @classmethod
    def _quorum_reachable(cls, value: int, info: ValidationInfo) -> int:
        witnesses = info.data.get("witnesses")
        if witnesses is None:  # witnesses failed validation: that error is the one to fix first
            return value
        names = {vkey.split("+", 1)[0] for vkey, _ in parse_witnesses(witnesses)}
        if value > len(names):
            raise ValueError(
                f"{value} cosignatures required but BATTRACE_WITNESSES names {len(names)} witness(es); "
                "lower the quorum or add witnesses"
            )
        return value

    @property
    def witness_entries(self) -> list[tuple[str, str]]:
        """(verifier key, URL or '') of every configured witness, in the order given."""
        return parse_witnesses(self.witnesses)

    @property
    def clickhouse_dsn(self) -> str:
        return self.clickhouse or f"chdb:///{self.clickhouse_path.resolve()}"

    @property
    def clickhouse_shown(self) -> str:
        """The DSN as printed and logged: a password in it becomes ``***`` (secrets are never shown)."""
        parts = urlsplit(self.clickhouse_dsn)
        if parts.password is None:
            return self.clickhouse_dsn
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return parts._replace(netloc=netloc).geturl()

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


def parse_witnesses(value: str) -> list[tuple[str, str]]:
    """(verifier key, URL or '') per comma-separated entry of BATTRACE_WITNESSES; ValueError names the bad entry.

    Only the shape is checked here (settings sit below the key code): name, 8 hex digits, a base64 type-0x04
    Ed25519 key, an http(s) URL. The key ID is checked where the key is parsed (battrace.tlog.cosignature).
    """
    entries = []
    for raw in value.replace("\n", ",").split(","):
        entry = raw.strip()
        if not entry:
            continue
        vkey, _, url = entry.partition(" ")
        url = url.strip()
        problem = _witness_key_problem(vkey) or _witness_url_problem(url)
        if problem:
            raise ValueError(f"witness {entry[:80]!r}: {problem}; {WITNESS_FIX}")
        entries.append((vkey, url))
    return entries


def parse_passport_tokens(value: str) -> list[tuple[str, str]]:
    """(tier, SHA-256 hex) per comma-separated ``TIER:SHA256HEX`` entry; ValueError names the bad entry (its tier
    only: the rest is a secret's hash and stays out of messages)."""
    entries = []
    for raw in value.replace("\n", ",").split(","):
        entry = raw.strip()
        if not entry:
            continue
        tier, sep, digest = entry.partition(":")
        if not sep:  # perhaps a raw token: never echoed
            raise ValueError(f"a passport token entry has no TIER: prefix; {PASSPORT_TOKENS_FIX}")
        if tier not in PASSPORT_TOKEN_TIERS:
            raise ValueError(f"passport token entry {tier[:40]!r}: unknown tier; {PASSPORT_TOKENS_FIX}")
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"passport token entry for {tier}: not a SHA-256 hex digest; {PASSPORT_TOKENS_FIX}")
        entries.append((tier, digest))
    return entries


def _witness_key_problem(vkey: str) -> str | None:
    parts = vkey.split("+", 2)
    if len(parts) != 3 or not parts[0]:
        return "the key is not NAME+KEYID+KEY"
    if len(parts[1]) != 8 or any(c not in "0123456789abcdef" for c in parts[1]):
        return "the key ID is not 8 lowercase hex digits"
    try:
        raw = base64.b64decode(parts[2], validate=True)
    except (binascii.Error, ValueError):
        return "the key is not base64"
    if len(raw) != 1 + _ED25519_KEY_SIZE or raw[0] != _COSIGNATURE_KEY_TYPE:
        return "not a witness (cosignature, type 0x04) Ed25519 key"
    return None


def _witness_url_problem(url: str) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in url:
        return f"{url!r} is not an http(s) URL"
    return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
