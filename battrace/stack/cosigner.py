"""The third-party verifier as a party of its own: it reads drafts from the operator's read-only API, checks each
against keys it pinned itself (battrace/verify/cosign_check.py), and publishes a co-signature or a signed refusal
to reports.events like any other source, where the operator's worker seals it into the consignment's chain.

It runs from its own home (its own ``BATTRACE_HOME``, with its own report key): nothing the operator can write
changes what it signs with or which keys it trusts. What it fetches needs no trust: every bundle is verified
against the pinned log key before anything in it counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from battrace.compliance.issue import review_step
from battrace.domain.entities import SHIPMENT
from battrace.domain.report_events import REPORT_COSIGNED, REPORT_DRAFTED, REPORT_REFUSED
from battrace.report.reviews import cosignature, refusal
from battrace.report.signing import MANUFACTURER_QA, THIRD_PARTY_VERIFIER, SigningError
from battrace.tlog import Signer
from battrace.verify.bundle import MALFORMED
from battrace.verify.cosign_check import (
    CosignCheck,
    PinnedKeys,
    check_draft,
    custody_steps,
    decoded_records,
    listed_custody,
)
from battrace.verify.derived import UndecodableEvent

SENT = "sent"
BUNDLE_ROUTES = {"battery": "batteries", "lot": "lots", SHIPMENT: "shipments", "party": "parties"}


class ApiUnreachable(RuntimeError):
    """The operator's API did not answer (or answered with something other than its JSON)."""


class NotYet(LookupError):
    """The operator has sealed the records but no signed checkpoint covers them yet: try again shortly."""


class OperatorApi:
    """The few read-only routes of the operator's API the co-signer uses."""

    def __init__(self, base_url: str, timeout_s: float = 60, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, **params: Any) -> httpx.Response:
        try:
            return self._http.get(path, params=params or None)
        except httpx.HTTPError as exc:
            raise ApiUnreachable(f"the operator's API at {self.base_url} did not answer ({exc})") from None

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ApiUnreachable(
                f"{self.base_url}{response.request.url.path} answered {response.status_code} with no JSON: "
                "is --api the operator's battrace API?"
            ) from None

    def awaiting_review(self) -> list[str]:
        response = self._get("/reports", awaiting_review="true")
        body = self._json(response)
        if response.status_code != 200 or not isinstance(body, dict):
            raise ApiUnreachable(f"{self.base_url}/reports answered {response.status_code}: {str(body)[:200]}")
        return [str(i) for i in body.get("shipment_ids", [])]

    def draft(self, shipment_id: str) -> dict[str, Any]:
        """The consignment's current draft, with only the manufacturer's signature (what is asked to be co-signed)."""
        response = self._get(f"/reports/{shipment_id}")
        body = self._json(response)
        if response.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("document"), dict):
            raise ApiUnreachable(f"{self.base_url}/reports/{shipment_id} answered {response.status_code}")
        document = body["document"]
        signatures = document.get("signatures")
        own = (
            [s for s in signatures if isinstance(s, dict) and s.get("role") == MANUFACTURER_QA]
            if isinstance(signatures, list)
            else []
        )
        return {**document, "signatures": own}

    def bundle(self, entity_type: str, entity_id: str) -> dict[str, Any] | None:
        """The entity's bundle; None when the operator has no sealed record of it; NotYet when not checkpointed."""
        response = self._get(f"/{BUNDLE_ROUTES[entity_type]}/{entity_id}/bundle")
        if response.status_code == 404:
            return None
        if response.status_code == 409:
            raise NotYet(f"{entity_type} {entity_id} is not under a signed checkpoint yet")
        body = self._json(response)
        if response.status_code != 200 or not isinstance(body, dict):
            raise ApiUnreachable(f"the bundle of {entity_type} {entity_id} answered {response.status_code}")
        return body


@dataclass(frozen=True)
class Outcome:
    """What became of one awaiting report: ``verdict`` cosigned, refused, waiting (asked again later) or sent (this
    process answered it before; the answer is not sealed yet)."""

    shipment_id: str
    verdict: str
    report_hash: str = ""
    reasons: tuple[str, ...] = ()
    missing_fields: tuple[str, ...] = ()

    def line(self) -> str:
        if self.verdict == "refused":
            return f"{self.shipment_id}: refused ({'; '.join(self.reasons)})"
        if self.verdict == "waiting":
            return f"{self.shipment_id}: waiting ({'; '.join(self.reasons)})"
        missing = f" (missing fields: {', '.join(self.missing_fields)})" if self.missing_fields else ""
        return f"{self.shipment_id}: cosigned{missing}"

    def to_json(self) -> dict[str, Any]:
        return {
            "shipment_id": self.shipment_id,
            "verdict": self.verdict,
            "report_hash": self.report_hash,
            "reasons": list(self.reasons),
            "missing_fields": list(self.missing_fields),
        }


PublishStep = Callable[[dict[str, Any]], None]  # a ReportEvent record -> handed to the broker


class Cosigner:
    """Reviews drafts: check, then publish a co-signature or a refusal signed with its own key."""

    def __init__(self, api: OperatorApi, keys: PinnedKeys, signer: Signer, publish: PublishStep) -> None:
        self.api = api
        self.keys = keys
        self.signer = signer
        self.publish = publish
        self.reviewed: set[tuple[str, str]] = set()  # (consignment, report hash) published by this process

    def review_awaiting(self) -> Iterator[Outcome]:
        """Each report awaiting review, checked and answered (waiting ones are asked again next time); reports this
        process already answered are still listed until the operator seals the answer, and are skipped."""
        for shipment_id in self.api.awaiting_review():
            outcome = self.review(shipment_id)
            if outcome.verdict != SENT:
                yield outcome

    def review(self, shipment_id: str) -> Outcome:
        document = self.api.draft(shipment_id)
        report_hash = str(document.get("report_hash", ""))
        if (shipment_id, report_hash) in self.reviewed:
            return Outcome(shipment_id, SENT, report_hash)
        try:
            check = self.check(shipment_id, document)
        except NotYet as exc:
            return Outcome(shipment_id, "waiting", report_hash, (str(exc),))
        now_ms = round(time.time() * 1000)
        if check.shipment_id != shipment_id:
            check = CosignCheck(shipment_id, report_hash, (f"the draft is a report of {check.shipment_id}",))
        try:
            if check.sign:
                entry = cosignature(document, THIRD_PARTY_VERIFIER, self.signer, now_ms)
                step = review_step(shipment_id, report_hash, REPORT_COSIGNED, entry, [], now_ms)
            else:
                entry = refusal(report_hash, THIRD_PARTY_VERIFIER, list(check.reasons), self.signer, now_ms)
                step = review_step(shipment_id, report_hash, REPORT_REFUSED, entry, list(check.reasons), now_ms)
        except SigningError as exc:  # e.g. the draft's hash does not match its body: nothing sound to sign
            return Outcome(shipment_id, "waiting", report_hash, (f"cannot sign: {exc}",))
        self.publish(step)
        self.reviewed.add((shipment_id, report_hash))
        verdict = "cosigned" if check.sign else "refused"
        return Outcome(shipment_id, verdict, report_hash, check.reasons, check.missing_fields)

    def check(self, shipment_id: str, document: dict[str, Any]) -> CosignCheck:
        """Fetch what the check needs (the consignment, earlier consignments, the custody parties) and check."""
        consignment = self.api.bundle(SHIPMENT, shipment_id)
        if consignment is None:
            raise NotYet(f"no sealed records of consignment {shipment_id} yet")
        try:
            own = decoded_records(consignment)
        except (UndecodableEvent, *MALFORMED):
            own = []  # check_draft names what is wrong with the bundle
        if not any(r["kind"] == REPORT_DRAFTED for r in own):
            raise NotYet(f"the draft of {shipment_id} is not under a signed checkpoint yet")
        earlier = self._earlier_consignments(shipment_id, document, own)
        decoded = [own]
        for bundle in earlier:
            try:
                decoded.append(decoded_records(bundle))
            except (UndecodableEvent, *MALFORMED):
                continue
        parties = {s.party_id for s in custody_steps(decoded)}
        party_bundles = {p: self.api.bundle("party", p) for p in sorted(parties)}
        return check_draft(document, consignment, party_bundles, self.keys, earlier)

    def _earlier_consignments(
        self, shipment_id: str, document: dict[str, Any], own: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Bundles of the earlier consignments of the report's batteries and lots, fetched only when field 11 lists
        parties this consignment's own records do not show (their custody steps are in those consignments)."""
        listed = listed_custody(document) or []
        seen = {s.party_id for s in custody_steps([own])}
        if all(party in seen for _, party in listed):
            return []
        body = document.get("report") if isinstance(document.get("report"), dict) else {}
        carriers: set[str] = set()
        for entity_type, key in (("battery", "battery_ids"), ("lot", "lot_ids")):
            for entity_id in body.get(key) or ():
                carriers |= self._consignments_of(entity_type, str(entity_id))
        carriers.discard(shipment_id)
        found = [self.api.bundle(SHIPMENT, c) for c in sorted(carriers)]
        return [b for b in found if b is not None]

    def _consignments_of(self, entity_type: str, entity_id: str) -> set[str]:
        try:
            bundle = self.api.bundle(entity_type, entity_id)
            records = decoded_records(bundle) if bundle is not None else []
        except (UndecodableEvent, *MALFORMED):
            return set()  # only a hint where to look: what is found there is verified on its own
        return {str(r["record"].get("consignment_id")) for r in records if r["kind"] == "ConsignmentCreated"}
