"""The URIs of the export: GS1 Digital Links for GS1 keys, percent-encoded battrace URNs for the rest."""

from __future__ import annotations

from battrace.epcis.identifiers import battery_uri, lot_class, party_uri, read_point_uri, site_uri, urn

CODE = "X12MCPM27KLPCLX2M2382320"


def test_a_battery_is_its_alias_or_its_urn() -> None:
    link = "https://id.gs1.org/01/06901234200331/21/T1C0000043"
    assert battery_uri(CODE, {CODE: link}) == link
    assert battery_uri(CODE, {}) == f"urn:battrace:battery:{CODE}"


def test_an_lgtin_lot_is_a_digital_link_class_and_anything_else_a_urn() -> None:
    assert lot_class("06901234000115.LOT-000001") == "https://id.gs1.org/01/06901234000115/10/LOT-000001"
    assert lot_class("4006381333931.B/7") == "https://id.gs1.org/01/04006381333931/10/B%2F7"
    assert lot_class("06901234000116.LOT-000001") == "urn:battrace:lot:06901234000116.LOT-000001"  # bad check digit
    assert lot_class("SUPPLIER LOT 7") == "urn:battrace:lot:SUPPLIER%20LOT%207"


def test_glns_are_digital_links_and_other_ids_are_encoded_urns() -> None:
    assert site_uri("4012345000009") == "https://id.gs1.org/414/4012345000009"
    assert party_uri("4012345000009") == "https://id.gs1.org/417/4012345000009"
    assert party_uri("CN-COL-001") == "urn:battrace:party:CN-COL-001"
    assert read_point_uri("CN-SITE", "LINE 1") == "urn:battrace:site:CN-SITE:LINE%201"
    assert read_point_uri("CN-SITE", "") == "urn:battrace:site:CN-SITE"
    assert urn("certificate", "a:b/c d") == "urn:battrace:certificate:a%3Ab%2Fc%20d"
