"""A producer that adds an optional field to the MES contract is accepted and sealed under both framings: single-object
(the worker finds its schema in BATTRACE_SCHEMA_DIR, or in the registry by fingerprint) and registry framing
(confluent-kafka's AvroSerializer registers it; the worker fetches it by id). A writer the shipped contract cannot
read is rejected as ``incompatible_schema``; one the worker cannot find stays ``unknown_schema``. What is sealed is
the shipped contract's encoding, and `battrace verify` checks it without the catalogue.

Real Tansu broker, worker and chDB; the registry is tests/support/schema_registry_double.py (its HTTP API only)."""

from __future__ import annotations

import copy
import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

from embedded import Stack, embedded_stack, run_sql, verify_all
from schema_registry_double import schema_registry_double

from schemas.catalog import MES_EVENT, parse_contract
from schemas.codec import encode
from streams import topics
from streams.producer import EventProducer

MES = json.loads(Path("schemas/mes_event.avsc").read_text())


def _mes(*extra: dict[str, Any], site_type: str = "string") -> dict[str, Any]:
    raw = copy.deepcopy(MES)
    raw["fields"] += list(extra)
    next(f for f in raw["fields"] if f["name"] == "site_id")["type"] = site_type
    return raw


WITH_OPERATOR = _mes({"name": "operator", "type": ["null", "string"], "default": None})
WITH_SHIFT = _mes({"name": "shift", "type": ["null", "int"], "default": None})  # compatible, but in no catalogue
SITE_AS_INT = _mes(site_type="int")  # the shipped contract reads site_id as a string


def _recycled(source: str, target: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_time": int(time.time() * 1000) - 60_000,
        "tz_offset": "+08:00",
        "site_id": "SITE-HYDRO",
        "line_id": "HYDRO-1",
        "body": (
            "battrace.mes.Recycled",
            {
                "recycler_id": "RECYCLER-1",
                "inputs": [{"lot_id": source, "mass_kg": 100.0}],
                "outputs": [{"lot_id": target, "mass_kg": 90.0}],
            },
        ),
        **fields,
    }


def _send(stack: Stack, writer: dict[str, Any], record: dict[str, Any], registry_url: str = "") -> None:
    """One event from a producer that writes with ``writer`` (its own, newer or broken, copy of the MES contract)."""
    with EventProducer(stack.bootstrap, registry_url, {MES_EVENT: parse_contract(writer)}) as producer:
        producer.send(topics.MES.name, MES_EVENT, record, key=record["body"][1]["inputs"][0]["lot_id"])


def _with(stack: Stack, **settings: Any) -> Stack:
    return Stack(stack.settings.model_copy(update=settings), stack.bootstrap, stack.broker)


def _sealed_hash(home: Path, event_id: str) -> list[list[str]]:
    return run_sql(home, f"SELECT DISTINCT event_hash FROM battrace.sealed FINAL WHERE event_id = '{event_id}'")


def _shipped_hash(record: dict[str, Any]) -> str:
    """SHA-256 of the event as the shipped contract encodes it, without the fields the writer added."""
    known = {k: v for k, v in record.items() if k not in ("operator", "shift")}
    return hashlib.sha256(encode(MES_EVENT, known)).hexdigest()


def _rejects(home: Path) -> list[list[str]]:
    return run_sql(home, "SELECT reason, detail FROM battrace.rejects FINAL ORDER BY reason")


def test_single_object_writers_are_resolved_through_the_schema_directory(tmp_path: Path) -> None:
    schema_dir = tmp_path / "writer-schemas"
    schema_dir.mkdir()
    (schema_dir / "mes_event_operator.avsc").write_text(json.dumps(WITH_OPERATOR))
    (schema_dir / "mes_event_site_as_int.avsc").write_text(json.dumps(SITE_AS_INT))
    home = tmp_path / "home"
    evolved = _recycled("LOT-EVO-A", "LOT-EVO-B", operator="ann")
    with embedded_stack(home) as stack:
        _send(stack, WITH_OPERATOR, evolved)
        _send(stack, SITE_AS_INT, _recycled("LOT-EVO-C", "LOT-EVO-D", site_id=7))
        _send(stack, WITH_SHIFT, _recycled("LOT-EVO-E", "LOT-EVO-F", shift=2))
        _with(stack, schema_dir=schema_dir).process()
    assert _sealed_hash(home, evolved["event_id"]) == [[_shipped_hash(evolved)]]
    [incompatible, unknown] = _rejects(home)
    assert incompatible[0] == "incompatible_schema" and "site_id: type changed from int to string" in incompatible[1]
    assert unknown[0] == "unknown_schema"
    code, report = verify_all(home)
    assert code == 0 and report["ok"], report["failures"][:5]


def test_registry_framed_and_registry_known_writers_are_sealed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    framed = _recycled("LOT-REG-A", "LOT-REG-B", operator="bob")
    by_fingerprint = _recycled("LOT-REG-C", "LOT-REG-D", operator="cy")
    with schema_registry_double() as (url, registry), embedded_stack(home) as stack:
        _send(stack, WITH_OPERATOR, framed, registry_url=url)  # AvroSerializer registers it under mes.events-value
        _send(stack, WITH_OPERATOR, by_fingerprint)  # single-object: the worker finds the fingerprint in the registry
        # A registry whose subject allows any change (compatibility NONE) accepts this one; the worker does not.
        _send(stack, SITE_AS_INT, _recycled("LOT-REG-E", "LOT-REG-F", site_id=7), registry_url=url)
        _with(stack, schema_registry_url=url).process()
        assert registry.subjects == {"mes.events-value": [1, 2]}
    assert _sealed_hash(home, framed["event_id"]) == [[_shipped_hash(framed)]]
    assert _sealed_hash(home, by_fingerprint["event_id"]) == [[_shipped_hash(by_fingerprint)]]
    [incompatible] = _rejects(home)
    assert incompatible[0] == "incompatible_schema" and "site_id" in incompatible[1]
    code, report = verify_all(home)  # no registry here: the sealed bytes are the shipped contract's
    assert code == 0 and report["ok"], report["failures"][:5]
