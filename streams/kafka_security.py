"""The Kafka security settings (BATTRACE_KAFKA_SECURITY_PROTOCOL, SASL, TLS) as each client library spells them.

Three libraries talk to Kafka here: confluent-kafka (producers, admin, the tools' consumers), aiokafka (the worker's
stage consumers and producers) and faust (the seal stage, on aiokafka underneath). Each takes the same security
settings under its own names; one function per library does the translation, and every client is built through one
of them (tests/unit/streams/test_kafka_clients_secured.py checks), so no client can end up in plaintext on a broker
that requires authentication. PLAINTEXT, the default, adds nothing: a client's options stay as they were.

Secrets leave the settings only here, as the library option that needs them.
"""

from __future__ import annotations

import ssl
from typing import Any

from battrace.settings import Settings


def confluent_options(settings: Settings) -> dict[str, str]:
    """librdkafka properties (confluent-kafka Producer, Consumer, AdminClient): security.protocol, sasl.*, ssl.*."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return {}
    options = {"security.protocol": settings.kafka_security_protocol}
    if settings.kafka_sasl:
        options["sasl.mechanism"] = settings.kafka_sasl_mechanism
        options["sasl.username"] = settings.kafka_sasl_username
        options["sasl.password"] = settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_tls:
        if settings.kafka_ssl_ca_file is not None:
            options["ssl.ca.location"] = str(settings.kafka_ssl_ca_file)
        if settings.kafka_ssl_cert_file is not None and settings.kafka_ssl_key_file is not None:
            options["ssl.certificate.location"] = str(settings.kafka_ssl_cert_file)
            options["ssl.key.location"] = str(settings.kafka_ssl_key_file)
            if settings.kafka_ssl_key_password.get_secret_value():
                options["ssl.key.password"] = settings.kafka_ssl_key_password.get_secret_value()
    return options


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of the Python clients (aiokafka, faust): the broker's certificate is checked against the CA
    file (else the system's CAs) and its host name, and a client certificate is presented for mutual TLS; None when
    the protocol has no TLS."""
    if not settings.kafka_tls:
        return None
    cafile = str(settings.kafka_ssl_ca_file) if settings.kafka_ssl_ca_file is not None else None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    if settings.kafka_ssl_cert_file is not None and settings.kafka_ssl_key_file is not None:
        context.load_cert_chain(
            str(settings.kafka_ssl_cert_file),
            str(settings.kafka_ssl_key_file),
            settings.kafka_ssl_key_password.get_secret_value() or None,
        )
    return context


def aiokafka_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of AIOKafkaConsumer / AIOKafkaProducer: security_protocol, sasl_*, ssl_context."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_sasl:
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_tls:
        options["ssl_context"] = ssl_context(settings)
    return options


def faust_credentials(settings: Settings) -> Any:
    """faust's ``broker_credentials``: SASLCredentials (over TLS with SASL_SSL), SSLCredentials, or None for
    PLAINTEXT. faust turns them into the same aiokafka options as :func:`aiokafka_options`."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    import faust  # only the worker builds a faust app; importing faust costs a second

    if settings.kafka_sasl:
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password.get_secret_value(),
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=ssl_context(settings),
        )
    return faust.SSLCredentials(ssl_context(settings))
