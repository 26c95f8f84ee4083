"""The Kafka security settings as each client library spells them (streams/kafka_security.py), and the settings
refused before any client is built."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from pathlib import Path

import certifi
import pytest
from aiokafka import AIOKafkaProducer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from pydantic import ValidationError

from battrace.settings import Settings
from streams.kafka import client_config, producer_config
from streams.kafka_security import aiokafka_options, confluent_options, faust_credentials

PASSWORD = "kafka-pw-9c1d"


def sasl(protocol: str = "SASL_PLAINTEXT", mechanism: str = "PLAIN", **more: object) -> Settings:
    return Settings(
        kafka_security_protocol=protocol,
        kafka_sasl_mechanism=mechanism,
        kafka_sasl_username="ingest",
        kafka_sasl_password=PASSWORD,
        **more,
    )


def client_pair(directory: Path) -> tuple[Path, Path]:
    """A self-signed client certificate and its key, as PEM files (for mutual TLS)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "battrace-client")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "client.pem", directory / "client.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def test_plaintext_adds_nothing_to_any_client() -> None:
    settings = Settings()
    assert settings.kafka_security_protocol == "PLAINTEXT"
    assert confluent_options(settings) == {} and aiokafka_options(settings) == {}
    assert faust_credentials(settings) is None
    assert client_config("k:9092", settings) == {"bootstrap.servers": "k:9092"}


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_plaintext_names_the_mechanism_and_the_login_in_librdkafka_terms(mechanism: str) -> None:
    assert confluent_options(sasl(mechanism=mechanism)) == {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism,
        "sasl.username": "ingest",
        "sasl.password": PASSWORD,
    }


def test_sasl_ssl_with_a_ca_file_reaches_librdkafka_and_every_producer() -> None:
    settings = sasl("SASL_SSL", "SCRAM-SHA-512", kafka_ssl_ca_file=certifi.where())
    options = confluent_options(settings)
    assert options["security.protocol"] == "SASL_SSL" and options["ssl.ca.location"] == certifi.where()
    config = producer_config("k:9093", settings, **{"linger.ms": 5})
    assert config["sasl.password"] == PASSWORD and config["enable.idempotence"] is True and config["linger.ms"] == 5


def test_mutual_tls_hands_the_client_certificate_to_every_library(tmp_path: Path) -> None:
    cert, key = client_pair(tmp_path)
    settings = Settings(
        kafka_security_protocol="SSL",
        kafka_ssl_ca_file=certifi.where(),
        kafka_ssl_cert_file=cert,
        kafka_ssl_key_file=key,
    )
    assert confluent_options(settings) == {
        "security.protocol": "SSL",
        "ssl.ca.location": certifi.where(),
        "ssl.certificate.location": str(cert),
        "ssl.key.location": str(key),
    }
    context = aiokafka_options(settings)["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname  # the broker is checked
    assert context.cert_store_stats()["x509_ca"] > 0  # the CA file was read
    assert aiokafka_options(settings)["security_protocol"] == "SSL"


def test_a_key_that_does_not_match_the_certificate_is_refused(tmp_path: Path) -> None:
    cert, _ = client_pair(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _, wrong_key = client_pair(other)
    settings = Settings(kafka_security_protocol="SSL", kafka_ssl_cert_file=cert, kafka_ssl_key_file=wrong_key)
    with pytest.raises(ssl.SSLError):
        aiokafka_options(settings)


@pytest.mark.parametrize(
    "settings",
    [
        sasl(),
        sasl("SASL_SSL", "SCRAM-SHA-256", kafka_ssl_ca_file=certifi.where()),
        Settings(kafka_security_protocol="SSL", kafka_ssl_ca_file=certifi.where()),
    ],
    ids=["sasl_plaintext", "sasl_ssl", "ssl"],
)
def test_faust_gets_what_the_plain_aiokafka_clients_get(settings: Settings) -> None:
    """The seal stage (faust) and the other stages (aiokafka) must log in the same way: faust's own translation of
    its credentials equals :func:`aiokafka_options` (the SSL contexts compared by what they check)."""
    through_faust = dict(credentials_to_aiokafka_auth(faust_credentials(settings)))
    direct = aiokafka_options(settings)
    faust_context, direct_context = through_faust.pop("ssl_context", None), direct.pop("ssl_context", None)
    assert through_faust == direct
    assert (faust_context is None) == (direct_context is None)
    if direct_context is not None:
        assert faust_context.cert_store_stats() == direct_context.cert_store_stats()


def test_aiokafka_accepts_the_options_it_is_given() -> None:
    """aiokafka checks SASL options when a client is built (no connection yet): a misspelt one would fail here."""

    async def build() -> AIOKafkaProducer:
        producer = AIOKafkaProducer(
            bootstrap_servers="127.0.0.1:1", **aiokafka_options(sasl(mechanism="SCRAM-SHA-256"))
        )
        await producer.stop()
        return producer

    client = asyncio.run(build()).client
    assert client._security_protocol == "SASL_PLAINTEXT" and client._sasl_mechanism == "SCRAM-SHA-256"
    assert client._sasl_plain_password == PASSWORD


@pytest.mark.parametrize(
    ("values", "named"),
    [
        (
            {"kafka_security_protocol": "SASL_SSL"},
            "needs BATTRACE_KAFKA_SASL_USERNAME and BATTRACE_KAFKA_SASL_PASSWORD",
        ),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_username": "u"},
            "needs BATTRACE_KAFKA_SASL_USERNAME and BATTRACE_KAFKA_SASL_PASSWORD",
        ),
        (
            {"kafka_sasl_username": "u", "kafka_sasl_password": PASSWORD},
            "BATTRACE_KAFKA_SECURITY_PROTOCOL is PLAINTEXT",
        ),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_cert_file": "c.pem"}, "BATTRACE_KAFKA_SSL_KEY_FILE"),
        ({"kafka_security_protocol": "TLS"}, "kafka_security_protocol"),
        ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "GSSAPI"}, "kafka_sasl_mechanism"),
        ({"schema_registry_user": "sr"}, "BATTRACE_SCHEMA_REGISTRY_PASSWORD"),
    ],
)
def test_incomplete_or_unknown_security_settings_are_refused_with_the_variables_to_fix(
    values: dict[str, str], named: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**values)
    assert named in str(refused.value)
    assert PASSWORD not in str(refused.value)  # the refused values are never repeated
