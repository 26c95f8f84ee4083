"""The read-only API and verification page, served from a real pipeline run's store by a real uvicorn process."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest
from embedded import embedded_stack, run_sql, write_sql
from headless_chromium import chromium, missing_reason
from served_api import WRITES, ServedApi, readonly_probe, served_api

from battrace.tlog import Verifier, generate_signer, open_checkpoint, sign_note, verify_consistency
from battrace.tlog.note import parse_note
from battrace.verify.bundle import verify_bundle
from streams.simulator import simulate

UNKNOWN = "CH2CBL12000001T159999999"  # well-formed, never simulated
ENDPOINTS = {
    "/batteries/{battery_id}": "get",
    "/batteries/{battery_id}/chain": "get",
    "/passport/{battery_id}": "get",
    "/batteries/{battery_id}/bundle": "get",
    "/shipments/{shipment_id}/bundle": "get",
    "/lots/{lot_id}/bundle": "get",
    "/parties/{party_id}/bundle": "get",
    "/verify/batteries/{battery_id}": "get",
    "/verify/bundle": "post",
    "/logs": "get",
    "/logs/{log_id}/checkpoint": "get",
    "/keys": "get",
    "/reports": "get",
    "/reports/{shipment_id}": "get",
}
BATTERY_ROUTES = ("/batteries/{}", "/batteries/{}/chain", "/batteries/{}/bundle", "/verify/batteries/{}")


@dataclass
class Served:
    api: ServedApi
    home: Path
    battery: str  # the battery with the longest chain
    chain_length: int
    head: str
    carbon: dict[str, float]
    tampered: str  # another battery, whose first event's bytes were altered before serving
    sealed_rows: int
    probe: dict[str, object]
    report: str  # shipment id of a report row put into battrace.reports whose document is not a signed report

    def get(self, path: str, **kwargs):
        return self.api.http.get(path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.api.http.post(path, **kwargs)


REPORT_ID = "API-TEST-SHIPMENT"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Process a small run; read facts, tamper one battery and probe writes (each a child process); then serve."""
    home = tmp_path_factory.mktemp("api")
    with embedded_stack(home) as stack:
        stack.publish(list(simulate(400, seed=5)))
        stack.process()
    (battery, length, head), (tampered, _, _) = run_sql(
        home,
        "SELECT entity_id, count(), argMax(chain_hash, seq) FROM battrace.sealed FINAL WHERE entity_type = 'battery' "
        "GROUP BY entity_id ORDER BY count() DESC, entity_id LIMIT 2",
    )
    carbon = run_sql(
        home,
        f"SELECT stage, sum(kg_co2e) FROM battrace.carbon FINAL WHERE entity_type = 'battery' "
        f"AND entity_id = '{battery}' GROUP BY stage",
    )
    sealed_rows = run_sql(home, "SELECT count() FROM battrace.sealed")[0][0]
    # The bytes of its first event, not its sealed row: a sealed row is also its log entry (the store keeps it once),
    # so altering one breaks its whole log, and every battery of that log would fail with it.
    [[first_event]] = run_sql(
        home,
        f"SELECT event_id FROM battrace.sealed WHERE entity_type = 'battery' AND entity_id = '{tampered}' AND seq = 1",
    )
    write_sql(
        home,
        f"ALTER TABLE battrace.event_store UPDATE canonical = concat(canonical, 'x') WHERE event_id = '{first_event}'",
    )
    write_sql(  # drafted later than any real report, with a document that is no signed report
        home,
        f"INSERT INTO battrace.reports (shipment_id, event_id, drafted_at, report_hash, document) "
        f"VALUES ('{REPORT_ID}', 'forged', '2100-01-01 00:00:00', '{'0' * 64}', 'not a document')",
    )
    probe = readonly_probe(home)  # before the server: it will hold the store
    with served_api(home) as api:
        yield Served(
            api,
            home,
            battery,
            int(length),
            head,
            dict(carbon),
            tampered,
            int(sealed_rows),
            probe,
            REPORT_ID,
        )


@pytest.fixture(scope="module")
def bundle(served: Served) -> dict:
    response = served.get(f"/batteries/{served.battery}/bundle")
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def keys(served: Served) -> list[Verifier]:
    return [Verifier.from_key(line) for line in served.get("/keys").text.splitlines()]


# ---------------------------------------------------------------- documentation and read-only guarantees


def test_openapi_documents_every_endpoint_with_models(served: Served) -> None:
    schema = served.get("/openapi.json").json()
    assert schema["info"]["title"] == "battrace read-only API" and schema["info"]["description"]
    assert {path: list(ops) for path, ops in schema["paths"].items()} == {p: [m] for p, m in ENDPOINTS.items()}
    for path, method in ENDPOINTS.items():
        operation = schema["paths"][path][method]
        assert operation["summary"] and operation.get("description"), path
    models = set(schema["components"]["schemas"])
    assert {"Passport", "Chain", "BatteryVerification", "BundleVerification", "LogHead", "Problem"} <= models
    passport = schema["paths"]["/batteries/{battery_id}"]["get"]["responses"]
    assert passport["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Passport")
    assert passport["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/Problem")


def test_no_write_methods(served: Served) -> None:
    concrete = [p.format(served.battery) for p in BATTERY_ROUTES] + ["/logs", "/keys", "/verify/bundle", "/"]
    for path in concrete:
        for method in ("PUT", "DELETE", "PATCH"):
            response = served.api.http.request(method, path)
            assert response.status_code == 405, (method, path, response.status_code)
            assert response.json()["error"] == "method_not_allowed"


def test_the_api_client_refuses_every_write(served: Served) -> None:
    """The probe ran the server's own client (open_readonly) against this store: ClickHouse said READONLY."""
    for name in [*WRITES, "client_insert"]:
        outcome = str(served.probe[name])
        assert outcome != "accepted" and ("READONLY" in outcome or "readonly" in outcome), (name, outcome)
    assert served.probe["sealed_rows"] == served.sealed_rows


# ---------------------------------------------------------------- happy paths


def test_passport(served: Served) -> None:
    response = served.get(f"/batteries/{served.battery}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["battery_id"] == served.battery and body["battery"]["battery_id"] == served.battery
    assert body["battery"]["product_type"] in {"cell", "module", "pack"}
    assert body["chain"]["length"] == served.chain_length and body["chain"]["head"] == served.head
    assert body["chain"]["latest_sealed_at"].endswith("Z")
    assert {c["stage"]: c["kg_co2e"] for c in body["carbon"]} == pytest.approx(served.carbon)
    assert body["carbon_total_kg_co2e"] == pytest.approx(sum(served.carbon.values()))
    assert isinstance(body["flags"], list)


def test_chain_in_seq_order_and_linked(served: Served) -> None:
    records = served.get(f"/batteries/{served.battery}/chain").json()["records"]
    assert [r["seq"] for r in records] == list(range(1, served.chain_length + 1))
    assert records[0]["prev_hash"] == "00" * 32
    assert all(b["prev_hash"] == a["chain_hash"] for a, b in pairwise(records))
    assert records[-1]["chain_hash"] == served.head
    assert all(r["kind"] and r["event_time"] for r in records)


def test_bundle_downloads_and_verifies_offline_with_the_served_keys(served: Served, bundle: dict, keys) -> None:
    response = served.get(f"/batteries/{served.battery}/bundle")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert bundle["format"] == "battrace-bundle/1" and len(bundle["records"]) == served.chain_length
    report = verify_bundle(bundle, keys)  # pure Python: no store access from the test process
    assert report.ok and report.trust == "pinned", report.failures


def test_verify_battery_on_the_server(served: Served, keys) -> None:
    response = served.get(f"/verify/batteries/{served.battery}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "battery_id": served.battery,
        "ok": True,
        "checked": 1,
        "failures": [],
        "trusted_keys": [k.to_key() for k in keys],
    }


def test_verify_battery_reports_a_tampered_chain(served: Served) -> None:
    body = served.get(f"/verify/batteries/{served.tampered}").json()
    assert body["ok"] is False and body["checked"] == 1
    assert any(f["seq"] == 1 and "do not hash to event_hash" in f["problem"] for f in body["failures"]), body[
        "failures"
    ]


def test_verify_uploaded_bundle(served: Served, bundle: dict) -> None:
    response = served.post("/verify/bundle", content=json.dumps(bundle), headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] and body["trust"] == "pinned" and body["checked"] == served.chain_length
    assert body["subject"] == f"battery:{served.battery}" and body["checkpoints"]


def test_logs_list_latest_checkpoints_whose_notes_verify(served: Served, keys) -> None:
    logs = served.get("/logs").json()
    assert logs and all(log["size"] > 0 for log in logs)
    for log in logs:
        response = served.get(f"/logs/{log['log_id']}/checkpoint")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        checkpoint = open_checkpoint(response.text, keys, origin=log["log_id"])
        assert (checkpoint.size, checkpoint.root.hex()) == (log["size"], log["root"])


def test_keys_are_plain_text_verifier_keys(served: Served, keys) -> None:
    response = served.get("/keys")
    assert response.headers["content-type"].startswith("text/plain")
    assert keys and response.text == "".join(k.to_key() + "\n" for k in keys)


def test_verification_page_is_served_self_contained(served: Served) -> None:
    page = served.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert 'id="battery-code"' in page.text and 'id="bundle-file"' in page.text and "http" not in page.text.lower()
    for asset in ("/static/app.js", "/static/style.css"):
        assert served.get(asset).status_code == 200


# ---------------------------------------------------------------- malformed and hostile input


MALFORMED = ["abc", "ch2cbl12000001t150000001", "CH2CBL12000001T1500000011", "CH2XBL12000001T150000001"]


@pytest.mark.parametrize("code", MALFORMED, ids=["short", "lower-case", "long", "bad-product-type"])
@pytest.mark.parametrize("route", BATTERY_ROUTES)
def test_malformed_battery_code_is_422_with_a_reason(served: Served, route: str, code: str) -> None:
    response = served.get(route.format(code))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_battery_code" and body["message"]
    assert body["detail"]["reason"] in {"length", "character_class"} and body["detail"]["position"] >= 1


@pytest.mark.parametrize("route", BATTERY_ROUTES)
def test_unknown_battery_is_404(served: Served, route: str) -> None:
    response = served.get(route.format(UNKNOWN))
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert UNKNOWN in response.json()["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/shipments/NO-SUCH-SHIPMENT/bundle",
        "/lots/NO-SUCH-LOT/bundle",
        "/parties/NO-SUCH-PARTY/bundle",
        "/logs/no/such/log/checkpoint",
        "/nowhere",
    ],
)
def test_unknown_things_are_404(served: Served, path: str) -> None:
    response = served.get(path)
    assert response.status_code == 404 and response.json()["message"]


def test_report_of_unknown_shipment_is_404_with_a_message(served: Served) -> None:
    response = served.get("/reports/NO-SUCH-SHIPMENT")
    assert response.status_code == 404
    assert response.json()["error"] in {"not_found", "no_reports"} and "report" in response.json()["message"]


def test_a_stored_report_that_is_no_signed_document_is_named_not_served(served: Served) -> None:
    response = served.get(f"/reports/{served.report}")
    assert response.status_code == 409 and response.json()["error"] == "not_verified", response.text
    assert served.report in response.json()["message"]


def test_reports_awaiting_review_are_listed(served: Served) -> None:
    awaiting = served.get("/reports", params={"awaiting_review": "true"})
    listed = served.get("/reports")
    assert awaiting.status_code == 200 and listed.status_code == 200, (awaiting.text, listed.text)
    assert awaiting.json()["awaiting_review"] is True and served.report in awaiting.json()["shipment_ids"]
    assert awaiting.json()["shipment_ids"][-1] == served.report  # drafted last
    assert served.report in listed.json()["shipment_ids"]


@pytest.mark.parametrize(
    "body",
    [
        b"garbage",
        b"",
        b"\xff\xfe\x00",
        b"[1, 2]",
        b'{"format": "something-else/1"}',
        b'{"format": "battrace-bundle/1", "subject": {}, "records": {}, "checkpoints": {}, "verifier_keys": []}',
        b"[" * 100_000,
        b'{"n": ' + b"9" * 5000 + b"}",
    ],
    ids=["text", "empty", "binary", "array", "other-format", "wrong-field-type", "deep-nesting", "huge-int"],
)
def test_garbage_bundle_is_400(served: Served, body: bytes) -> None:
    response = served.post("/verify/bundle", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_bundle" and response.json()["message"]


def test_form_upload_is_refused_with_how_to_send_it(served: Served, bundle: dict) -> None:
    response = served.post("/verify/bundle", files={"bundle": ("b.json", json.dumps(bundle).encode())})
    assert response.status_code == 415 and "request body" in response.json()["message"]


def test_tampered_bundle_fails(served: Served, bundle: dict) -> None:
    tampered = copy.deepcopy(bundle)
    tampered["records"][-1]["event_hash"] = tampered["records"][0]["event_hash"]
    body = served.post("/verify/bundle", content=json.dumps(tampered)).json()
    assert body["ok"] is False and body["failures"], body


def test_a_bundle_without_its_newest_record_fails_as_incomplete(served: Served, bundle: dict) -> None:
    short = copy.deepcopy(bundle)
    short["records"].pop()
    body = served.post("/verify/bundle", content=json.dumps(short)).json()
    assert body["ok"] is False, body
    [failure] = body["failures"]
    assert failure["entity"] == f"battery:{served.battery}"
    assert failure["problem"].startswith("the bundle does not prove it is complete"), failure


def test_bundle_signed_by_another_key_fails_against_the_pinned_keys(served: Served, bundle: dict) -> None:
    """Re-signed by an impostor with the same key name: self-consistent, so only pinning catches it."""
    impostor = generate_signer(Verifier.from_key(bundle["verifier_keys"][0]).name)
    forged = copy.deepcopy(bundle)
    forged["checkpoints"] = {log: sign_note(parse_note(n)[0], impostor) for log, n in bundle["checkpoints"].items()}
    forged["verifier_keys"] = [impostor.verifier_key()]
    assert verify_bundle(forged).ok  # with the keys it carries, the forgery checks out
    body = served.post("/verify/bundle", content=json.dumps(forged)).json()
    assert body["ok"] is False and body["trust"] == "pinned"
    assert any("checkpoint" in f["problem"] for f in body["failures"]), body["failures"]


# ---------------------------------------------------------------- the page in headless Chromium


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    with chromium(tmp_path_factory.mktemp("chromium")) as driver:
        yield driver


def _result(driver, region: str) -> tuple[str, str]:
    """(data-status, text) of a result region once the page has a verdict."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    element = driver.find_element(By.ID, region)
    WebDriverWait(driver, 90).until(lambda _: element.get_attribute("data-status") in {"verified", "failed", "error"})
    return element.get_attribute("data-status"), element.text


def _check_code(driver, served: Served, code: str) -> tuple[str, str]:
    from selenium.webdriver.common.by import By

    driver.get(served.api.base_url + "/")
    field = driver.find_element(By.ID, "battery-code")
    field.send_keys(f"  {code}\n")  # pasted with stray spaces, submitted with Enter
    return _result(driver, "battery-result")


def _upload(driver, served: Served, path: Path) -> tuple[str, str]:
    from selenium.webdriver.common.by import By

    driver.get(served.api.base_url + "/")
    driver.find_element(By.ID, "bundle-file").send_keys(str(path))
    return _result(driver, "bundle-result")


def test_page_verifies_a_pasted_battery_code(browser, served: Served) -> None:
    status, text = _check_code(browser, served, served.battery)
    assert status == "verified" and text.startswith("Verified"), text
    assert "Sealed records" in text and str(served.chain_length) in text


def test_page_shows_a_failed_battery_with_its_problems(browser, served: Served) -> None:
    status, text = _check_code(browser, served, served.tampered)
    assert status == "failed" and text.startswith("Failed") and "stored bytes do not hash to event_hash" in text, text


def test_page_explains_a_malformed_code(browser, served: Served) -> None:
    status, text = _check_code(browser, served, "NOT-A-CODE")
    assert status == "error" and "Not a valid battery code" in text and "position" in text, text


def test_page_verifies_an_uploaded_bundle(browser, served: Served, bundle: dict, tmp_path: Path) -> None:
    path = tmp_path / "real.bundle.json"
    path.write_text(json.dumps(bundle, indent=1))
    status, text = _upload(browser, served, path)
    assert status == "verified" and text.startswith("Verified") and served.battery in text, text


def test_page_fails_a_tampered_bundle(browser, served: Served, bundle: dict, tmp_path: Path) -> None:
    tampered = copy.deepcopy(bundle)
    tampered["records"][0]["event"]["canonical"] = tampered["records"][-1]["event"]["canonical"]
    path = tmp_path / "tampered.bundle.json"
    path.write_text(json.dumps(tampered))
    status, text = _upload(browser, served, path)
    assert status == "failed" and text.startswith("Failed") and "do not hash" in text, text


# ---------------------------------------------------------------- consistency proofs between two sizes of a log

ENDPOINTS["/logs/{log_id}/consistency"] = "get"


def _consistency_holds(body: dict) -> bool:
    proof = [bytes.fromhex(h) for h in body["proof"]]
    first_root, second_root = bytes.fromhex(body["first_root"]), bytes.fromhex(body["second_root"])
    return verify_consistency(body["first"], body["second"], proof, first_root, second_root)


def test_served_consistency_proofs_verify_with_tlog_up_to_the_signed_checkpoint(served: Served, keys) -> None:
    log = max(served.get("/logs").json(), key=lambda head: head["size"])
    signed = open_checkpoint(served.get(f"/logs/{log['log_id']}/checkpoint").text, keys, origin=log["log_id"])
    n = signed.size
    assert n >= 3
    for first, second in [(1, n), (n // 3, n), (n // 3, n // 2 + 1), (n - 1, n), (n, n), (0, n), (2, 3)]:
        response = served.get(f"/logs/{log['log_id']}/consistency", params={"first": first, "second": second})
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["log_id"], body["first"], body["second"]) == (log["log_id"], first, second)
        assert _consistency_holds(body), (first, second)
        if second == n:
            assert body["second_root"] == signed.root.hex()  # the proof ends at what the checkpoint signed
        if body["proof"]:  # a changed proof hash or a swapped root no longer verifies
            broken = {**body, "proof": [body["proof"][0][:-1] + ("0" if body["proof"][0][-1] != "0" else "1")]}
            assert not _consistency_holds({**broken, "proof": broken["proof"] + body["proof"][1:]})
            assert not _consistency_holds({**body, "first_root": body["second_root"]})
    default = served.get(f"/logs/{log['log_id']}/consistency", params={"first": 1}).json()
    assert default["second"] == n and default["second_root"] == signed.root.hex() and _consistency_holds(default)


def test_consistency_refuses_bad_sizes_with_a_4xx_naming_the_problem(served: Served) -> None:
    log = max(served.get("/logs").json(), key=lambda head: head["size"])
    path, n = f"/logs/{log['log_id']}/consistency", log["size"]
    for params, status, error in [
        ({"first": 2, "second": 1}, 422, "invalid_sizes"),
        ({"first": 1, "second": n + 1}, 422, "beyond_checkpoint"),
        ({"first": n + 1}, 422, "invalid_sizes"),
        ({"first": -1}, 422, "invalid_request"),
        ({"first": "abc"}, 422, "invalid_request"),
        ({}, 422, "invalid_request"),
    ]:
        response = served.get(path, params=params)
        assert response.status_code == status, (params, response.text)
        assert response.json()["error"] == error and response.json()["message"], params
    assert "signed checkpoint" in served.get(path, params={"first": 1, "second": n + 1}).json()["message"]
    missing = served.get("/logs/no/such/log/consistency", params={"first": 0})
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_logs_name_the_trusted_keys_that_signed_their_latest_checkpoint(served: Served, keys) -> None:
    logs = served.get("/logs").json()
    assert logs and all(log["signed_by"] == [k.key_id.hex() for k in keys] for log in logs), logs
    schema = served.get("/openapi.json").json()["components"]["schemas"]["LogHead"]
    assert "signed_by" in schema["properties"]
