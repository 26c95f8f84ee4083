"""`battrace schemas register` against the registry's HTTP API (tests/support/schema_registry_double.py)."""

from __future__ import annotations

import json
import socket

from click.testing import CliRunner
from schema_registry_double import schema_registry_double

from battrace.cli.main import cli
from schemas.catalog import contracts
from streams.topics import SOURCES


def _register(url: str) -> object:
    return CliRunner().invoke(cli, ["schemas", "register", "--json"], env={"BATTRACE_SCHEMA_REGISTRY_URL": url})


def test_every_source_contract_is_registered_under_its_topic_once(tmp_path) -> None:
    with schema_registry_double() as (url, registry):
        first = _register(url)
        assert first.exit_code == 0, first.output
        ids = json.loads(first.output)
        expected = {f"{s.name}-value" for s in SOURCES if s.value_schema}
        assert set(ids) == expected and set(registry.subjects) == expected
        for spec in SOURCES:
            if spec.value_schema:
                stored = json.loads(registry.texts[ids[f"{spec.name}-value"]])
                assert stored == contracts()[spec.value_schema].raw  # the contract as written, defaults and docs
        again = _register(url)
        assert json.loads(again.output) == ids  # registering again changes nothing
        assert all(len(versions) == 1 for versions in registry.subjects.values())


def test_an_unreachable_registry_is_one_line_naming_the_setting() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    result = _register(f"http://127.0.0.1:{port}")
    assert result.exit_code == 2
    assert "BATTRACE_SCHEMA_REGISTRY_URL" in result.output and len(result.output.strip().splitlines()) == 1


def test_no_registry_named_is_one_line() -> None:
    result = CliRunner().invoke(cli, ["schemas", "register"], env={"BATTRACE_SCHEMA_REGISTRY_URL": ""})
    assert result.exit_code == 2 and "BATTRACE_SCHEMA_REGISTRY_URL" in result.output
