"""Every URI the export names a thing by resolves back to the same id; other URIs are refused, naming the URI."""

from __future__ import annotations

import pytest

from battrace.epcis import resolve
from battrace.epcis.identifiers import lot_class, party_uri, read_point_uri, site_uri, urn
from battrace.epcis.resolve import Unresolvable

AWKWARD = ["CN-FJ-NINGDE-CELL", "a:b/c?d#e%f", "Zürich 1", "x y+z"]


@pytest.mark.parametrize("value", AWKWARD)
def test_urns_of_any_id_resolve_back_to_it(value: str) -> None:
    assert resolve.site(site_uri(value)) == value
    assert resolve.party(party_uri(value)) == value
    assert resolve.lot(lot_class(value)) == value
    assert resolve.battery(urn("battery", value), {}) == value
    assert resolve.named(urn("shipment", value), "shipment") == value
    assert resolve.read_point(read_point_uri(value, "L:1"), value) == "L:1"
    assert resolve.read_point(read_point_uri(value, ""), value) == ""


def test_gs1_digital_links_resolve_to_their_keys() -> None:
    assert resolve.site(site_uri("6901234000003")) == "6901234000003"
    assert site_uri("6901234000003") == "https://id.gs1.org/414/6901234000003"
    assert resolve.party(party_uri("6901234000003")) == "6901234000003"
    assert resolve.read_point(read_point_uri("6901234000003", ""), "6901234000003") == ""
    assert resolve.lot(lot_class("06901234000597.LOT 10/a")) == "06901234000597.LOT 10/a"
    link = "https://id.gs1.org/01/06901234000011/21/S1"
    assert resolve.battery(link, {link: "CODE"}) == "CODE"


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: resolve.site(party_uri("6901234000003")), "site"),  # a party's GLN is not a site
        (lambda: resolve.party(urn("site", "S")), "party"),
        (lambda: resolve.lot("https://id.gs1.org/01/123/10/x"), "LGTIN"),
        (lambda: resolve.battery("https://id.gs1.org/01/06901234000011/21/S1", {}), "aliases"),
        (lambda: resolve.battery(urn("battery", ""), {}), "urn:battrace:battery"),
        (lambda: resolve.named(urn("shipment", "a", "b"), "shipment"), "urn:battrace:shipment"),
        (lambda: resolve.read_point(urn("site", "OTHER", "L1"), "S"), "'S'"),
        (lambda: resolve.site(42), "42"),
    ],
)
def test_anything_else_is_refused_naming_what_it_should_be(call, words: str) -> None:
    with pytest.raises(Unresolvable, match=words):
        call()
