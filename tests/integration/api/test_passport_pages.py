"""The human pages behind the passport and report URLs, opened in headless Chromium at a phone's width (390 px) from
a real `battrace serve` over a real pipeline's audited store: a compliant battery, a flagged one (integrity OK,
compliance flagged), an unknown code, a battery whose sealed chain was tampered with, the consignment report the QR
code opens, and /docs. Host names other than 127.0.0.1 do not resolve, every request the page makes is recorded
(none may leave the server), no console error; each test writes a screenshot under its directory and prints it."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from embedded import embedded_stack, run_sql, write_sql
from headless_chromium import OFFLINE, chromium, missing_reason
from served_api import ServedApi, served_api

from streams.simulator import simulate

UNKNOWN = "CH2CBL12000001T159999999"  # well-formed, never simulated
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@dataclass
class Store:
    api: ServedApi
    compliant: str  # a cell with no flag whose lots are all eligible
    flagged: str  # a battery with a custody flag: its records verify, its compliance does not
    tampered: str  # a cell whose first sealed record's chain hash was forged before serving
    shipment: str  # a delivered consignment with a report (the QR code's target)


def _battrace(home: Path, *args: str) -> None:
    env = {**os.environ, "BATTRACE_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "battrace", *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    home = tmp_path_factory.mktemp("pages")
    with embedded_stack(home) as stack:
        events = list(simulate(1200, seed=7))
        stack.publish(events)
        stack.process(reports_of=events)
    _battrace(home, "audit", "--json")
    (compliant,), (tampered,) = run_sql(
        home,
        "SELECT battery_id FROM battrace.batteries FINAL WHERE product_type = 'cell' AND length(lots) > 0 "
        "AND battery_id NOT IN (SELECT entity_id FROM battrace.flags FINAL WHERE entity_type = 'battery') "
        "AND NOT hasAny(lots, (SELECT groupArray(lot_id) FROM battrace.lot_eligibility FINAL WHERE NOT eligible)) "
        "ORDER BY battery_id LIMIT 2",
    )
    ((flagged,),) = run_sql(
        home,
        "SELECT entity_id FROM battrace.flags FINAL WHERE entity_type = 'battery' AND category = 'custody' "
        "ORDER BY entity_id LIMIT 1",
    )
    ((shipment,),) = run_sql(home, "SELECT shipment_id FROM battrace.reports ORDER BY shipment_id LIMIT 1")
    # The bytes of its first event, not its sealed row: a sealed row is also its log entry (the store keeps it once),
    # so altering one breaks its whole log, and the compliant battery might share that log.
    [[first_event]] = run_sql(
        home,
        f"SELECT event_id FROM battrace.sealed WHERE entity_type = 'battery' AND entity_id = '{tampered}' AND seq = 1",
    )
    write_sql(
        home,
        f"ALTER TABLE battrace.event_store UPDATE canonical = concat(canonical, 'x') WHERE event_id = '{first_event}'",
    )
    with served_api(home) as api:
        yield Store(api, compliant, flagged, tampered, shipment)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    with chromium(tmp_path_factory.mktemp("chromium"), extra_args=(OFFLINE,), logs=True) as driver:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
        yield driver


def _open(browser, store: Store, path: str, shot: Path) -> str:
    """Open the page at phone width, check it stayed on the server and logged no error, screenshot it whole;
    returns the visible text."""
    browser.get_log("browser")  # what earlier pages logged is not this page's
    browser.get_log("performance")
    browser.get(store.api.base_url + path)
    return _checked(browser, store, shot)


def _checked(browser, store: Store, shot: Path) -> str:
    from selenium.webdriver.common.by import By

    requested = [
        json.loads(e["message"])["message"]["params"]["request"]["url"]
        for e in browser.get_log("performance")
        if json.loads(e["message"])["message"]["method"] == "Network.requestWillBeSent"
    ]
    assert requested and all(u.startswith((store.api.base_url, "data:")) for u in requested), requested
    page = browser.current_url
    errors = [  # the page's own 404 or 409 is its answer, not an error of the page
        e for e in browser.get_log("browser") if e["level"] == "SEVERE" and not e["message"].startswith(page + " ")
    ]
    assert errors == []
    assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways
    height = browser.execute_script("return document.documentElement.scrollHeight")
    png = browser.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": PHONE["width"], "height": height, "scale": 1},
        },
    )
    shot.write_bytes(base64.b64decode(png["data"]))
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")
    return browser.find_element(By.TAG_NAME, "body").text


def _status(browser, region: str) -> str:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.ID, region).get_attribute("data-status")


def test_a_compliant_battery_verifies_with_its_checkpoint_and_key(browser, store: Store, tmp_path: Path) -> None:
    text = _open(browser, store, f"/passport/{store.compliant}", tmp_path / "compliant.png")
    assert _status(browser, "integrity") == "verified" and _status(browser, "compliance") == "compliant", text
    assert "Records verified" in text and "Checkpoint root" in text and "Log key" in text
    assert "No compliance flags" in text
    for section in ("Identity", "Lifecycle", "Genealogy", "Carbon footprint by lifecycle stage", "Recycled content"):
        assert section in text, section
    from selenium.webdriver.common.by import By

    bars = browser.find_elements(By.CSS_SELECTOR, "#carbon svg g.bar")
    assert [b.get_attribute("data-stage") for b in bars] == [
        "raw_material",
        "production",
        "distribution",
        "end_of_life",
    ]
    link = browser.find_element(By.ID, "bundle-link").get_attribute("href")
    assert link == f"{store.api.base_url}/batteries/{store.compliant}/bundle"
    assert store.api.http.get(link).json()["format"].startswith("battrace-bundle")


def test_a_flagged_battery_verifies_but_is_flagged_with_the_reason(browser, store: Store, tmp_path: Path) -> None:
    text = _open(browser, store, f"/passport/{store.flagged}", tmp_path / "flagged.png")
    assert _status(browser, "integrity") == "verified", text
    assert _status(browser, "compliance") == "flagged", text
    assert "Records verified" in text and "Flagged" in text and "custody/" in text
    assert "not licensed" in text  # the custody step the flag is on


def test_an_unknown_code_gets_a_human_404(browser, store: Store, tmp_path: Path) -> None:
    text = _open(browser, store, f"/passport/{UNKNOWN}", tmp_path / "unknown.png")
    assert _status(browser, "problem") == "404"
    assert "Unknown battery" in text and UNKNOWN in text and "{" not in text


def test_a_tampered_store_says_not_verified_naming_what_failed(browser, store: Store, tmp_path: Path) -> None:
    text = _open(browser, store, f"/passport/{store.tampered}", tmp_path / "tampered.png")
    assert _status(browser, "integrity") == "failed", text
    assert "NOT verified" in text and f"battery:{store.tampered} seq 1" in text and "event_hash" in text
    assert _status(browser, "compliance") == "not_assessed"
    assert "Carbon footprint" not in text  # nothing unverified is shown


def test_the_qr_codes_report_url_is_a_page(browser, store: Store, tmp_path: Path) -> None:
    text = _open(browser, store, f"/reports/{store.shipment}", tmp_path / "report.png")
    assert _status(browser, "integrity") in {"verified", "failed"} and store.shipment in text
    assert "Custody" in text and "Batteries" in text


def test_docs_render_offline(browser, store: Store, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")
    browser.get_log("performance")
    browser.get(store.api.base_url + "/docs")
    WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"))
    text = _checked(browser, store, tmp_path / "docs.png")
    assert "battrace read-only API" in text


@pytest.mark.parametrize("path", ["/passport/{battery}", "/reports/{shipment}"])
def test_the_same_url_gives_json_to_clients_and_html_to_browsers(store: Store, path: str) -> None:
    url = path.format(battery=store.compliant, shipment=store.shipment)
    for accept in ("application/json", "*/*"):
        answer = store.api.http.get(url, headers={"Accept": accept})
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/json", accept
        assert answer.json()
    page = store.api.http.get(url, headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Accept" in page.headers["vary"] and "default-src 'self'" in page.headers["content-security-policy"]


def test_errors_stay_json_for_clients(store: Store) -> None:
    answer = store.api.http.get(f"/passport/{store.tampered}", headers={"Accept": "application/json"})
    assert answer.status_code == 409 and answer.json()["error"] == "not_verified"
    page = store.api.http.get(f"/passport/{store.tampered}", headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 409 and "NOT verified" in page.text
