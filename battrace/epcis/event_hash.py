"""The GS1 EPCIS event hash of each event of an EPCIS 2.0 document: ``ni:///sha-256;<hex>?ver=CBV2.0``.

GS1's algorithm (the "EPCIS event hash" of the CBV 2.0 standard) builds a canonical pre-hash string of an event: its
fields in a fixed order, times in UTC with milliseconds, identifiers as canonical GS1 Digital Links, CBV terms as
their Web URIs, numbers without trailing zeros, lists and user extensions sorted, ``eventID``, ``recordTime`` and
``errorDeclaration`` left out; the hash is the SHA-256 of that string. So the same event written in XML or JSON, with
its fields or epcList in another order, has the same hash, and any change of content gives another.

The reference implementation, ``epcis-event-hash-generator`` on PyPI, does all of it and installs cleanly beside
battrace, so it is used rather than rewritten. Around it, this module:

- gives JSON-LD expansion a document loader that works offline: the EPCIS 2.0 context, under each URL it is
  published at (the export names the unversioned one), is the copy the generator ships; any other remote context
  is refused with one line instead of a download;
- clears the generator's module-level namespace table before each document, so prefixes of a document hashed
  earlier in the same process cannot leak into the next;
- checks that it got one hash per event: the generator logs and skips an event it cannot parse, which would shift
  every hash after it.
"""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

EPCIS_CONTEXT_FILE = "e532647e8eb371379b8b0e8602d8981c8566bc60f7351f22c76a5bc865962008.jsonld"  # EPCIS 2.0.0
OLD_CONTEXT_FILE = "14b10c9d3e92d35f577bfc610fe5ec15aa2941124987919389d7cd9998516861.jsonld"  # pre-publication
CONTEXTS = {
    "https://ref.gs1.org/standards/epcis/epcis-context.jsonld": EPCIS_CONTEXT_FILE,
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld": EPCIS_CONTEXT_FILE,
    "https://gs1.github.io/EPCIS/epcis-context.jsonld": OLD_CONTEXT_FILE,
}


class EventHashError(ValueError):
    """A document whose events cannot be hashed (not EPCIS 2.0 JSON-LD, an unknown context, an unparsable event)."""


class _OfflineLoader:
    """PyLD's document loader: the known contexts from the generator's package, the first other URL remembered."""

    def __init__(self) -> None:
        self.refused: str | None = None

    def __call__(self, url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        from pyld.jsonld import JsonLdError

        name = CONTEXTS.get(url)
        if name is None:
            self.refused = self.refused or url
            raise JsonLdError(f"{url} is not available offline", "jsonld.LoadDocumentError", code="loading failed")
        return _context(url, name)


def _context(url: str, name: str) -> dict[str, Any]:
    import json

    text = resources.files("epcis_event_hash_generator").joinpath(name).read_text(encoding="utf-8")
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url, "document": json.loads(text)}


def _as_document(document: dict[str, Any]) -> dict[str, Any]:
    """An EPCISDocument, or a query document's results as one (the generator reads only ``epcisBody.eventList``)."""
    if not isinstance(document, dict) or "@context" not in document:
        raise EventHashError("not an EPCIS 2.0 JSON-LD document: it has no @context")
    body = document.get("epcisBody")
    if not isinstance(body, dict):
        raise EventHashError("not an EPCIS document: it has no epcisBody")
    if "queryResults" in body:
        events = body["queryResults"].get("resultsBody", {}).get("eventList", [])
        document = {**document, "epcisBody": {"eventList": events}}
    elif "eventList" not in body and "event" not in body:
        raise EventHashError("the epcisBody has no eventList")
    return copy.deepcopy(document)  # the generator rewrites values in place


def event_hashes(document: dict[str, Any]) -> list[str]:
    """The GS1 event hash of every event of ``document`` (parsed JSON), in document order."""
    from epcis_event_hash_generator import hash_generator, json_to_py
    from pyld import jsonld

    doc = _as_document(document)
    loader = _OfflineLoader()
    jsonld.set_document_loader(loader)
    json_to_py._namespaces.clear()
    try:
        events = json_to_py.event_list_from_epcis_document_json(doc)
    except jsonld.JsonLdError as exc:
        if loader.refused:
            known = ", ".join(CONTEXTS)
            refused = loader.refused
            message = f"the JSON-LD context {refused} is not available offline; use one of {known}"
            raise EventHashError(message) from None
        raise EventHashError(f"the document is not valid JSON-LD: {str(exc).splitlines()[0][:200]}") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise EventHashError(f"not an EPCIS 2.0 event list: {type(exc).__name__}: {exc}") from None
    prehashes = hash_generator.derive_prehashes_from_events(events)
    if len(prehashes) != len(events[2]):
        raise EventHashError(f"{len(events[2]) - len(prehashes)} of {len(events[2])} events could not be hashed")
    return list(hash_generator.calculate_hashes_from_pre_hashes(prehashes))
