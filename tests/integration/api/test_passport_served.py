"""The battery passport from a real pipeline's audited store: `battrace passport` files, and GET /passport/{code}
served by a real `battrace serve` with hashed bearer tokens; a battery whose projection was edited gets none."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from embedded import embedded_stack, run_sql, write_sql
from served_api import ServedApi, served_api

from battrace.passport.access import AUDIENCES, AUTHORITY, LEGITIMATE_INTEREST, PUBLIC, may_see
from battrace.passport.schema import field_points, passport_schema
from streams.simulator import simulate

TOKENS = {LEGITIMATE_INTEREST: "recycler-7f3a9c", AUTHORITY: "msa-inspector-51d0e2"}
UNKNOWN = "CH2CBL12000001T159999999"


@dataclass
class World:
    home: Path
    battery: str  # a cell that consumed lots, verified
    tampered: str  # another cell, whose projection was edited after the audit
    mass_kg: float
    chain_length: int
    files: Path
    cli: dict[str, subprocess.CompletedProcess[str]]
    verifier_key: str
    api: ServedApi | None = None

    def get(self, path: str, token: str | None = None):
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        assert self.api is not None
        return self.api.http.get(path, headers=headers)


def _battrace(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "battrace", *args], env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Process and audit a run, edit one cell's projection, write passports with the CLI (each a child process),
    then serve the store with two passport tokens configured as hashes."""
    home = tmp_path_factory.mktemp("passport")
    with embedded_stack(home) as stack:
        events = list(simulate(1200, seed=5))
        stack.publish(events)
        stack.process(reports_of=events)
    audit = _battrace(home, "audit", "--json")
    assert audit.returncode == 0, audit.stderr[-3000:]
    (battery, mass), (tampered, _) = run_sql(
        home,
        "SELECT battery_id, mass_kg FROM battrace.batteries FINAL WHERE product_type = 'cell' AND length(lots) > 0 "
        "ORDER BY battery_id LIMIT 2",
    )
    length = run_sql(home, f"SELECT count() FROM battrace.sealed FINAL WHERE entity_id = '{battery}'")[0][0]
    write_sql(home, f"ALTER TABLE battrace.batteries UPDATE mass_kg = mass_kg * 2 WHERE battery_id = '{tampered}'")
    files = tmp_path_factory.mktemp("files")
    cli = {
        audience: _battrace(
            home, "passport", "--battery", battery, "--tier", audience, "--out", str(files / f"{audience}.json")
        )
        for audience in AUDIENCES
    }
    cli["tampered"] = _battrace(home, "passport", "--battery", tampered, "--out", str(files / "tampered.json"))
    cli["unknown"] = _battrace(home, "passport", "--battery", UNKNOWN, "--out", str(files / "unknown.json"))
    key = _battrace(home, "keys", "export").stdout.strip().splitlines()[0]
    found = World(home, battery, tampered, float(mass), int(length), files, cli, key)
    hashes = ",".join(f"{tier}:{hashlib.sha256(t.encode()).hexdigest()}" for tier, t in TOKENS.items())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BATTRACE_PASSPORT_TOKENS", hashes)
        with served_api(home) as api:
            found.api = api
            yield found


def _check_audience(document: dict, audience: str) -> None:
    """Valid against the shipped schema, and holding exactly the attributes the audience may see."""
    jsonschema.Draft202012Validator(passport_schema()).validate(document)
    assert document["audience"] == audience
    for (cluster, name), point in field_points().items():
        assert (name in document[cluster]) is may_see(audience, point), (audience, cluster, name)


# ---------------------------------------------------------------- API


def test_no_token_serves_the_public_passport(world: World) -> None:
    response = world.get(f"/passport/{world.battery}")
    assert response.status_code == 200, response.text
    document = response.json()
    _check_audience(document, PUBLIC)
    assert document["seal"]["chainLength"] == world.chain_length
    assert document["generalProductInformation"]["batteryMass"]["value"] == pytest.approx(world.mass_kg)
    assert "lotComposition" not in document["materialComposition"]
    assert response.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize("audience", [LEGITIMATE_INTEREST, AUTHORITY])
def test_a_token_serves_the_audience_it_grants(world: World, audience: str) -> None:
    response = world.get(f"/passport/{world.battery}", TOKENS[audience])
    assert response.status_code == 200, response.text
    document = response.json()
    _check_audience(document, audience)
    lots = document["materialComposition"]["lotComposition"]["value"]
    assert lots and all(entry["lotId"] for entry in lots)
    assert all("massFractions" in e or e["missing"].startswith("no assay for lot") for e in lots), lots


def test_a_wrong_token_is_401_with_one_line(world: World) -> None:
    response = world.get(f"/passport/{world.battery}", TOKENS[AUTHORITY] + "x")
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["error"] == "bad_token" and "\n" not in body["message"] and TOKENS[AUTHORITY] not in response.text


def test_a_hash_is_no_token(world: World) -> None:
    digest = hashlib.sha256(TOKENS[AUTHORITY].encode()).hexdigest()
    assert world.get(f"/passport/{world.battery}", digest).status_code == 401


def test_unknown_and_malformed_codes(world: World) -> None:
    response = world.get(f"/passport/{UNKNOWN}")
    assert response.status_code == 404 and UNKNOWN in response.json()["message"]
    assert world.get("/passport/not-a-code").status_code == 422


def test_a_tampered_battery_gets_no_passport(world: World) -> None:
    for token in (None, TOKENS[AUTHORITY]):
        response = world.get(f"/passport/{world.tampered}", token)
        assert response.status_code == 409, response.text
        body = response.json()
        assert body["error"] == "not_verified" and world.tampered in body["message"]
        assert any("mass_kg" in p for p in body["detail"]["problems"]), body


def test_the_battery_endpoint_still_serves_its_view(world: World) -> None:
    assert world.get(f"/batteries/{world.battery}").status_code == 200


# ---------------------------------------------------------------- CLI


@pytest.mark.parametrize("audience", AUDIENCES)
def test_cli_writes_the_passport_and_its_bundle(world: World, audience: str) -> None:
    result = world.cli[audience]
    assert result.returncode == 0, result.stderr
    out = world.files / f"{audience}.json"
    document = json.loads(out.read_text())
    _check_audience(document, audience)
    assert document["seal"]["bundle"] == f"{audience}.bundle.json"
    served = world.get(f"/passport/{world.battery}", TOKENS.get(audience)).json()
    assert served["seal"].pop("bundle") == f"/batteries/{world.battery}/bundle"
    document["seal"].pop("bundle")
    assert document == served  # the file holds what the API serves that audience


def test_the_bundle_beside_the_file_verifies_offline(world: World) -> None:
    bundle = world.files / "authority.bundle.json"
    env = {**os.environ, "BATTRACE_HOME": str(world.files / "elsewhere")}  # no access to the operator's home
    result = subprocess.run(
        [sys.executable, "-m", "battrace", "verify", "--bundle", str(bundle), "--key", world.verifier_key, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ok"] and report["checked"] == world.chain_length
    document = json.loads((world.files / "authority.json").read_text())
    assert json.loads(bundle.read_text())["head"]["leaf"]["length"] == document["seal"]["chainLength"]


def test_cli_refuses_a_tampered_battery_naming_it(world: World) -> None:
    result = world.cli["tampered"]
    assert result.returncode == 1 and world.tampered in result.stderr and "no passport" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (world.files / "tampered.json").exists()


def test_cli_unknown_battery_is_one_line_exit_2(world: World) -> None:
    result = world.cli["unknown"]
    assert result.returncode == 2 and UNKNOWN in result.stderr and "Traceback" not in result.stderr
