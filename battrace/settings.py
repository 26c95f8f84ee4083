"""The one place that defines every setting; each reads a ``BATTRACE_*`` environment variable."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator
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
KAFKA_SASL_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")
KAFKA_SSL_PROTOCOLS = ("SSL", "SASL_SSL")
_URL_FIELDS = frozenset({"clickhouse", "schema_registry_url"})  # may carry user:password@, masked in the repr


class Settings(BaseSettings):
    """Runtime configuration. Empty ``kafka``/``clickhouse`` mean: use the embedded stack."""

    # hide_input_in_errors: a validation error never repeats the value it refused (it may be a password).
    model_config = SettingsConfigDict(env_prefix="BATTRACE_", extra="ignore", hide_input_in_errors=True)

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
    schema_registry_user: str = Field(
        "", description="Schema Registry basic-auth user (confluent-kafka's basic.auth.user.info); empty = no auth"
    )
    schema_registry_password: SecretStr = Field(
        SecretStr(""), description="Schema Registry basic-auth password; never printed", validate_default=True
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="how every Kafka client talks to the brokers (Kafka's security.protocol)"
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "PLAIN", description="SASL mechanism, with SASL_PLAINTEXT or SASL_SSL"
    )
    kafka_sasl_username: str = Field("", description="SASL user, with SASL_PLAINTEXT or SASL_SSL")
    kafka_sasl_password: SecretStr = Field(
        SecretStr(""), description="SASL password; never printed", validate_default=True
    )
    kafka_ssl_ca_file: Path | None = Field(
        None, description="PEM file of the CAs that signed the brokers' certificates; empty = the system's CAs"
    )
    kafka_ssl_cert_file: Path | None = Field(None, description="PEM client certificate, for mutual TLS")
    kafka_ssl_key_file: Path | None = Field(None, description="PEM private key of the client certificate")
    kafka_ssl_key_password: SecretStr = Field(
        SecretStr(""), description="password of the client key, if encrypted; never printed", validate_default=True
    )
    clickhouse_user: str = Field("", description="ClickHouse user; wins over a user in the DSN; empty = the DSN's")
    clickhouse_password: SecretStr = Field(
        SecretStr(""), description="ClickHouse password; wins over one in the DSN; never printed"
    )
    clickhouse_secure: bool | None = Field(
        None, description="talk to ClickHouse over TLS (https); empty = as the DSN says (port 8443/443)"
    )
    clickhouse_verify: bool = Field(True, description="check the ClickHouse server's TLS certificate")
    clickhouse_ca_file: Path | None = Field(
        None, description="PEM file of the CA that signed ClickHouse's certificate; empty = the system's CAs"
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
    evict_after_days: float = Field(
        30,
        ge=0,
        description="days of event time after which a delivered consignment's state leaves the worker's table (a "
        "destroyed battery's leaves at once), read back from ClickHouse if an event touches it again; 0 = never evict",
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
    table_store: str = Field(
        "rocksdb://",
        description="Faust table store URL: rocksdb:// keeps the worker's tables and dedup index on disk under "
        "BATTRACE_HOME, so a restarted worker reads back only what its changelogs gained since; memory:// rebuilds "
        "them from the changelogs on every start (several workers sharing one home need it)",
    )
    future_tolerance_s: int = Field(
        86_400,
        ge=0,
        description="how far an event time may lie after the trusted clock (the Kafka timestamp, never later than "
        "ingest's own clock) before it is rejected",
    )
    reject_bytes_days: int = Field(
        90,
        ge=1,
        description="days a rejected message's original bytes are kept in ClickHouse (rejects.original, then emptied "
        "by a TTL); its reason, detail and source coordinates are kept with the sealed data",
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

    metrics_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="TCP port of the worker's Prometheus /metrics, /healthz and /readyz (0 = off)",
    )
    metrics_host: str = Field("127.0.0.1", description="address the worker's metrics port listens on")
    log_format: Literal["text", "json"] = Field(
        "text", description="the worker's and `battrace serve`'s logs: plain text, or one JSON object per line"
    )

    passport_tokens: str = Field(
        "",
        description="comma-separated TIER:SHA256HEX entries: the SHA-256 of each bearer token `GET /passport/{code}` "
        "accepts and the audience it grants (legitimate_interest or authority); raw tokens are never stored",
    )

    @field_validator("schema_registry_password")
    @classmethod
    def _registry_auth_complete(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        """A password without a user (or the reverse) would silently send no credentials."""
        user = info.data.get("schema_registry_user", "")
        if bool(user) != bool(value.get_secret_value()):
            raise ValueError(
                "BATTRACE_SCHEMA_REGISTRY_USER and BATTRACE_SCHEMA_REGISTRY_PASSWORD go together: set both or neither"
            )
        return value

    @field_validator("kafka_sasl_password")
    @classmethod
    def _sasl_complete(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        """SASL needs a user and a password, and credentials need a SASL protocol: either mistake would otherwise
        show up only as a broker that closes the connection, far from the setting that caused it."""
        protocol = info.data.get("kafka_security_protocol")
        user = info.data.get("kafka_sasl_username", "")
        if protocol is None:  # the protocol failed validation: that error is the one to fix first
            return value
        has_password = bool(value.get_secret_value())
        if protocol in KAFKA_SASL_PROTOCOLS and not (user and has_password):
            raise ValueError(
                f"BATTRACE_KAFKA_SECURITY_PROTOCOL={protocol} needs BATTRACE_KAFKA_SASL_USERNAME and "
                "BATTRACE_KAFKA_SASL_PASSWORD: set both"
            )
        if protocol not in KAFKA_SASL_PROTOCOLS and (user or has_password):
            raise ValueError(
                f"SASL credentials are set but BATTRACE_KAFKA_SECURITY_PROTOCOL is {protocol}: set it to "
                "SASL_PLAINTEXT or SASL_SSL, or unset BATTRACE_KAFKA_SASL_USERNAME/PASSWORD"
            )
        return value

    @field_validator("kafka_ssl_key_password")
    @classmethod
    def _client_certificate_complete(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        """Mutual TLS needs the certificate and its key; half of it would be ignored by some clients."""
        cert, key = info.data.get("kafka_ssl_cert_file"), info.data.get("kafka_ssl_key_file")
        if (cert is None) != (key is None):
            raise ValueError("BATTRACE_KAFKA_SSL_CERT_FILE and BATTRACE_KAFKA_SSL_KEY_FILE go together: set both")
        return value

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

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """The repr shows URLs with their passwords masked, as SecretStr fields already are."""
        for name, value in super().__repr_args__():
            yield name, shown_url(value) if name in _URL_FIELDS and isinstance(value, str) else value

    @property
    def clickhouse_shown(self) -> str:
        """The DSN as printed and logged: a password in it becomes ``***`` (secrets are never shown)."""
        return shown_url(self.clickhouse_dsn)

    @property
    def kafka_tls(self) -> bool:
        """Kafka clients talk TLS (SSL or SASL_SSL)."""
        return self.kafka_security_protocol in KAFKA_SSL_PROTOCOLS

    @property
    def kafka_sasl(self) -> bool:
        """Kafka clients authenticate with SASL (SASL_PLAINTEXT or SASL_SSL)."""
        return self.kafka_security_protocol in KAFKA_SASL_PROTOCOLS

    def environment(self) -> dict[str, str]:
        """Every set value as the ``BATTRACE_*`` variable it is read from, secrets as their real value: what a child
        process (a worker) needs to read the same settings. For a child's environment only, never to print."""
        env = {}
        for name, value in self:
            if value is None:
                continue
            shown = value.get_secret_value() if isinstance(value, SecretStr) else value
            env[f"BATTRACE_{name.upper()}"] = str(shown)
        return env

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

    @property
    def ingest_metrics_dir(self) -> Path:
        """Where the ingest child process writes its metrics (prometheus-client's multiprocess files)."""
        return self.home / "metrics" / "ingest"

    def log_id(self, partition: int) -> str:
        """Origin line of the log kept for one trace.chain partition."""
        return f"{self.log_origin}/{partition}"


def shown_url(url: str) -> str:
    """A URL as printed and logged: a password in its userinfo becomes ``***`` (secrets are never shown)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


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
