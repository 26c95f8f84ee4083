"""The URIs an exported EPCIS event names things by: GS1 Digital Links where a GS1 key exists, else battrace URNs.

EPCIS 2.0 requires every identifier to be a URI. Where the data carries a GS1 key, the export uses its GS1 Digital
Link (what any EPCIS repository understands):

- a battery whose ``Commissioned`` event gave an SGTIN alias: that Digital Link, ``https://id.gs1.org/01/{gtin14}/21/
  {serial}``;
- a material lot whose id is LGTIN style, ``{gtin}.{batch}`` with a valid GTIN: ``https://id.gs1.org/01/{gtin14}/10/
  {batch}`` (a class-level id, used in quantity lists);
- a site or party whose id is a 13-digit GLN: ``https://id.gs1.org/414/{gln}`` (location) or ``/417/{gln}`` (party).

Everything else gets a private URN of the scheme ``urn:battrace:<kind>:<id>``, the id percent-encoded (RFC 3986,
nothing left unescaped but unreserved characters) so that any id makes a valid URI:

| URN | names |
|---|---|
| ``urn:battrace:battery:<GB/T 34014 code>`` | a cell, module or pack without a GS1 alias |
| ``urn:battrace:lot:<lot id>`` | a material lot whose id is not LGTIN style (a class-level id) |
| ``urn:battrace:shipment:<consignment id>`` | a consignment: the logistic unit, and its business transaction |
| ``urn:battrace:site:<site id>`` | a plant or site (bizLocation) |
| ``urn:battrace:site:<site id>:<line id>`` | an MES line of that site (readPoint) |
| ``urn:battrace:party:<registry id>`` | a licensed party (collector, transporter, receiver, ...) |
| ``urn:battrace:vehicle:<VIN>`` | the vehicle a pack is installed in (AssociationEvent parentID) |
| ``urn:battrace:element:<symbol>`` | a chemical element of an assay (sensorReport chemicalSubstance) |
| ``urn:battrace:certificate:<ref>`` | a certificate or licence number (certificationInfo) |
| ``urn:battrace:report:<sha-256 hex>`` | a sealed traceability report, by the hash its signatures cover |

The same thing always gets the same URI, so the GS1 event hash of an exported event depends on the sealed event
(and on whether a battery has an alias), never on which export it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from battrace.domain.battery_code import gtin14

DIGITAL_LINK = "https://id.gs1.org"
URN = "urn:battrace"


def _part(value: str) -> str:
    return quote(value, safe="")


def urn(kind: str, *ids: str) -> str:
    """``urn:battrace:<kind>:<id>[:<id>...]``, each id percent-encoded."""
    return ":".join((URN, kind, *map(_part, ids)))


def battery_uri(code: str, aliases: Mapping[str, str]) -> str:
    """The battery's SGTIN Digital Link when its commissioning gave one, else its battrace URN."""
    return aliases.get(code) or urn("battery", code)


def lot_class(lot_id: str) -> str:
    """A lot as an EPC class: the LGTIN Digital Link for ``gtin.batch`` ids, else its battrace URN."""
    gtin, dot, batch = lot_id.partition(".")
    if dot and batch:
        try:
            return f"{DIGITAL_LINK}/01/{gtin14(gtin)}/10/{_part(batch)}"
        except ValueError:
            pass
    return urn("lot", lot_id)


def _gln(value: str) -> bool:
    return len(value) == 13 and value.isascii() and value.isdigit()


def site_uri(site_id: str) -> str:
    return f"{DIGITAL_LINK}/414/{site_id}" if _gln(site_id) else urn("site", site_id)


def read_point_uri(site_id: str, line_id: str) -> str:
    """The line that reported the event; the site itself when no line is named."""
    return urn("site", site_id, line_id) if line_id else site_uri(site_id)


def party_uri(party_id: str) -> str:
    return f"{DIGITAL_LINK}/417/{party_id}" if _gln(party_id) else urn("party", party_id)


def shipment_uri(consignment_id: str) -> str:
    return urn("shipment", consignment_id)
