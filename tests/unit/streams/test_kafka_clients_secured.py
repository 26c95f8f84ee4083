"""Every Kafka, Schema Registry and ClickHouse client the product builds gets the security settings.

The source tree is read (not run): each construction of a client must take its options from the one function that
turns the settings into that library's options, so a client added later cannot forget SASL, TLS or credentials.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("battrace", "processors", "streams", "schemas")

CONFLUENT = frozenset({"Consumer", "Producer", "AdminClient"})  # config dict as first argument
AIOKAFKA = frozenset({"AIOKafkaConsumer", "AIOKafkaProducer"})  # keyword arguments
# (what a construction must pass, how): each client class and the function its options come from
SECURED_BY = {
    **dict.fromkeys(CONFLUENT, ("client_config", "producer_config")),
    **dict.fromkeys(AIOKAFKA, ("aiokafka_options",)),
    "SchemaRegistryClient": ("registry_config",),
    "get_client": ("clickhouse_options",),
    "App": ("faust_credentials",),
}


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _calls(node: ast.AST | None) -> set[str]:
    """Names of the functions called anywhere inside ``node``."""
    if node is None:
        return set()
    return {name for sub in ast.walk(node) if isinstance(sub, ast.Call) and (name := _name(sub.func))}


def _is_client(call: ast.Call) -> str | None:
    name = _name(call.func)
    if name == "App":  # faust.App only
        return name if isinstance(call.func, ast.Attribute) and _name(call.func.value) == "faust" else None
    return name if name in SECURED_BY else None


def _secured(call: ast.Call, client: str) -> bool:
    wanted = set(SECURED_BY[client])
    if client in CONFLUENT or client == "SchemaRegistryClient":
        return bool(call.args) and bool(_calls(call.args[0]) & wanted)
    if client == "App":
        return any(k.arg == "broker_credentials" and _calls(k.value) & wanted for k in call.keywords)
    return any(k.arg is None and _calls(k.value) & wanted for k in call.keywords)  # **aiokafka_options(...)


def unsecured_clients(source: str, filename: str = "<source>") -> tuple[list[str], Counter[str]]:
    """(``file:line client`` of each construction that skips its security options, constructions found per client)."""
    found: Counter[str] = Counter()
    problems = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call) and (client := _is_client(node)):
            found[client] += 1
            if not _secured(node, client):
                problems.append(f"{filename}:{node.lineno} {client}(...) without {' or '.join(SECURED_BY[client])}")
    return problems, found


def _product_sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_every_client_in_the_product_is_built_with_the_security_options() -> None:
    problems: list[str] = []
    found: Counter[str] = Counter()
    for path in _product_sources():
        more, counted = unsecured_clients(path.read_text(), str(path.relative_to(ROOT)))
        problems += more
        found += counted
    assert not problems, "\n".join(problems)
    # the scan sees the clients it guards (a renamed import must not make it pass on nothing)
    for client in ("Consumer", "Producer", "AdminClient", "AIOKafkaConsumer", "AIOKafkaProducer"):
        assert found[client] > 0, client
    assert found["SchemaRegistryClient"] >= 2 and found["get_client"] >= 2 and found["App"] == 1


@pytest.mark.parametrize(
    ("source", "client"),
    [
        ('Consumer({"bootstrap.servers": b, "group.id": "g"})', "Consumer"),
        ("AdminClient(config)", "AdminClient"),
        ("AIOKafkaConsumer(bootstrap_servers=b, group_id=None)", "AIOKafkaConsumer"),
        ("AIOKafkaProducer(bootstrap_servers=b, **options)", "AIOKafkaProducer"),
        ('SchemaRegistryClient({"url": url})', "SchemaRegistryClient"),
        ("clickhouse_connect.get_client(dsn=dsn)", "get_client"),
        ("faust.App('id', broker=url)", "App"),
        ("faust.App('id', broker=url, broker_credentials=None)", "App"),
    ],
)
def test_a_client_built_without_its_security_options_is_named(source: str, client: str) -> None:
    problems, _ = unsecured_clients(source, "new.py")
    assert problems == [f"new.py:1 {client}(...) without {' or '.join(SECURED_BY[client])}"]


@pytest.mark.parametrize(
    "source",
    [
        'Consumer(client_config(b, **{"group.id": "g"}))',
        "Producer(producer_config(b))",
        "AIOKafkaConsumer(bootstrap_servers=b, **aiokafka_options(settings), **more)",
        "SchemaRegistryClient(registry_config(url, settings))",
        "clickhouse_connect.get_client(dsn=dsn, **clickhouse_options(settings))",
        "faust.App('id', broker=url, broker_credentials=faust_credentials(settings))",
    ],
)
def test_a_client_built_through_its_security_function_passes(source: str) -> None:
    assert unsecured_clients(source) == ([], Counter({_is_client(ast.parse(source).body[0].value): 1}))


def test_the_confluent_configurations_carry_the_security_options() -> None:
    """client_config and producer_config are only as good as what they call: the librdkafka security options."""
    tree = ast.parse((ROOT / "streams" / "kafka.py").read_text())
    bodies = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assert "confluent_options" in _calls(bodies["client_config"])
    assert "client_config" in _calls(bodies["producer_config"])
