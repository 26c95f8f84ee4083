"""URIs of a captured EPCIS event back to battrace ids: the inverse of battrace/epcis/identifiers.py.

A URI resolves when it is one the export writes: a ``urn:battrace:<kind>:<id>`` URN of the expected kind (each id
percent-decoded), a GS1 Digital Link of a GLN (site ``/414/``, party ``/417/``), an LGTIN Digital Link of a lot
(``/01/{gtin}/10/{batch}``, captured as ``{gtin}.{batch}`` with the GTIN-14 the link carries), or an SGTIN Digital
Link of a battery whose GB/T 34014 code the event gives in its ``battrace:sealed`` ``aliases``. Anything else raises
:class:`Unresolvable`, which names the URI and what it should have been, so a partner can fix the event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote

from battrace.epcis.identifiers import DIGITAL_LINK, URN

_GLN_LINK = re.compile(r"https://id\.gs1\.org/(414|417)/(\d{13})")
_LGTIN_LINK = re.compile(r"https://id\.gs1\.org/01/(\d{14})/10/([^/?#]+)")


class Unresolvable(ValueError):
    """A URI that names nothing battrace knows how to name."""


def urn_ids(uri: str, kind: str) -> list[str] | None:
    """The percent-decoded ids of ``urn:battrace:<kind>:<id>[:<id>...]``, or None when ``uri`` is not such a URN."""
    prefix = f"{URN}:{kind}:"
    if not isinstance(uri, str) or not uri.startswith(prefix) or len(uri) == len(prefix):
        return None
    return [unquote(part) for part in uri[len(prefix) :].split(":")]


def _one(uri: str, kind: str) -> str | None:
    ids = urn_ids(uri, kind)
    return ids[0] if ids is not None and len(ids) == 1 and ids[0] else None


def _refuse(uri: object, what: str, expected: str) -> Unresolvable:
    return Unresolvable(f"{what} {uri!r} is not {expected}")


def battery(uri: object, aliases: Mapping[str, str]) -> str:
    """The GB/T 34014 code of a battery URN, or of a Digital Link the event's aliases map to a code."""
    if isinstance(uri, str):
        code = _one(uri, "battery") or aliases.get(uri)
        if code:
            return code
        if uri.startswith(f"{DIGITAL_LINK}/01/"):
            raise Unresolvable(
                f"battery {uri!r} has no GB/T 34014 code: give it in battrace:sealed.aliases "
                "or name the battery urn:battrace:battery:<code>"
            )
    raise _refuse(uri, "battery", "urn:battrace:battery:<code> or an aliased SGTIN Digital Link")


def lot(uri: object) -> str:
    """A lot id from its URN, or ``{gtin14}.{batch}`` from its LGTIN Digital Link."""
    if isinstance(uri, str):
        found = _one(uri, "lot")
        if found:
            return found
        link = _LGTIN_LINK.fullmatch(uri)
        if link:
            return f"{link.group(1)}.{unquote(link.group(2))}"
    raise _refuse(uri, "lot", "urn:battrace:lot:<id> or an LGTIN Digital Link https://id.gs1.org/01/<gtin>/10/<batch>")


def _gln_or_urn(uri: object, kind: str, key: str, what: str) -> str:
    if isinstance(uri, str):
        found = _one(uri, kind)
        if found:
            return found
        link = _GLN_LINK.fullmatch(uri)
        if link and link.group(1) == key:
            return link.group(2)
    raise _refuse(uri, what, f"urn:battrace:{kind}:<id> or a GLN Digital Link {DIGITAL_LINK}/{key}/<gln>")


def site(uri: object) -> str:
    return _gln_or_urn(uri, "site", "414", "site")


def party(uri: object) -> str:
    return _gln_or_urn(uri, "party", "417", "party")


def read_point(uri: object, site_id: str) -> str:
    """The MES line of a readPoint at ``site_id``: ``urn:battrace:site:<site>:<line>``, or "" for the site itself."""
    ids = urn_ids(uri, "site") if isinstance(uri, str) else None
    if ids is not None and len(ids) == 2 and ids[0] == site_id and ids[1]:
        return ids[1]
    try:
        if site(uri) == site_id:
            return ""
    except Unresolvable:
        pass
    raise _refuse(uri, "readPoint", f"the site {site_id!r} or one of its lines, urn:battrace:site:<site>:<line>")


def named(uri: object, kind: str) -> str:
    """The id of a ``urn:battrace:<kind>:<id>`` URN (shipment, vehicle, element, certificate, report)."""
    found = _one(uri, kind) if isinstance(uri, str) else None
    if found is None:
        raise _refuse(uri, kind, f"urn:battrace:{kind}:<id>")
    return found


def is_kind(uri: object, kind: str) -> bool:
    """``uri`` names a thing of this kind: its battrace URN, or (batteries, parties) the GS1 link the export uses."""
    if not isinstance(uri, str):
        return False
    if urn_ids(uri, kind) is not None:
        return True
    if kind == "battery":
        return uri.startswith(f"{DIGITAL_LINK}/01/") and "/21/" in uri
    if kind == "party":
        return uri.startswith(f"{DIGITAL_LINK}/417/")
    return False
