"""Licensed chain of custody: is a party licensed for a step at its time, and which output lots are eligible.

Only licensed dismantlers, transporters, smelters and recyclers may handle batteries and material: a step by
an unlisted, expired, not yet valid, revoked or wrongly licensed party is flagged. A lot is eligible for a
compliant output batch only when neither it nor any ancestor has a flagged or missing custody step.

Pure functions. Checks are made at the step's own time against the party's licence records, so the verdict
does not depend on when it is computed, provided the party's licence *history* is passed (see
``check_custody``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

FLAGS = ("unlisted", "wrong_role", "revoked", "not_yet_valid", "expired", "licence_mismatch")
GAPS = ("unknown_lot", "no_custody_record", "missing_step", "missing_party")

# (event kind, field naming the party) -> licensed roles that may take that step; None: any listed party
ROLES: dict[tuple[str, str], frozenset[str] | None] = {
    ("EndOfLifeCollected", "collector_id"): frozenset(["COLLECTOR", "DISMANTLER"]),
    ("Dismantled", "dismantler_id"): frozenset(["DISMANTLER"]),
    ("Recycled", "recycler_id"): frozenset(["RECYCLER"]),
    ("ConsignmentCreated", "transporter_id"): frozenset(["TRANSPORTER"]),
    ("Delivered", "receiver_id"): None,  # a receiving facility: manufacturer, recycler, dismantler ...
    ("Assay", "lab_id"): frozenset(["LAB"]),
    # responsibility for a repurposed battery moves to whoever places it on the market (EU 2023/1542 Art. 77(7))
    ("Repurposed", "repurposer_id"): frozenset(["MANUFACTURER"]),
}


@dataclass(frozen=True)
class CustodyFlag:
    """Why a party may not take a custody step: ``code`` is one of FLAGS."""

    code: str
    party_id: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "party_id": self.party_id, "detail": self.detail}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CustodyFlag:
        return cls(data["code"], data["party_id"], data["detail"])


def custody_parties(kind: str, body: Mapping[str, Any]) -> list[tuple[str, frozenset[str] | None]]:
    """The parties an event hands custody to and the roles they need, from ROLES."""
    return [(body[f], roles) for (k, f), roles in ROLES.items() if k == kind and body.get(f) is not None]


def _records(entry: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [entry] if isinstance(entry, Mapping) else list(entry)


def _revoked_at(record: Mapping[str, Any], records: Iterable[Mapping[str, Any]]) -> int | None:
    """When the licence of ``record`` was revoked: the earliest revoking record (by event_time) of that
    licence number; the registry publishes a revocation when it happens."""
    times = [
        r.get("event_time", 0)
        for r in records
        if r.get("revoked") and r.get("licence_number") == record.get("licence_number")
    ]
    return min(times) if times else None


def _iso(ms: int) -> str:
    return f"{datetime.fromtimestamp(ms / 1000, UTC):%Y-%m-%dT%H:%M:%S}Z"


def _roles(role_needed: str | Collection[str] | None) -> frozenset[str] | None:
    if role_needed is None:
        return None
    return frozenset([role_needed]) if isinstance(role_needed, str) else frozenset(role_needed)


def check_custody(
    party_id: str,
    role_needed: str | Collection[str] | None,
    at_ms: int,
    registry: Mapping[str, Mapping[str, Any] | Sequence[Mapping[str, Any]]],
    licence_number: str | None = None,
) -> CustodyFlag | None:
    """None when ``party_id`` held a licence for ``role_needed`` at ``at_ms``, else the flag.

    ``registry`` maps a party id to its LicensedEntity record, or better to every record seen for it: with
    only the latest (the compacted topic's view), a step taken before a renewal falls before the renewed
    licence's valid_from and is flagged ``not_yet_valid``. Validity is the half-open [valid_from, valid_to);
    a revocation counts from its record's event_time. ``licence_number``, when given (a transporter's
    declared licence), must be the one of the licence that covers ``at_ms``.
    """
    records = _records(registry.get(party_id) or [])
    if not party_id or not records:
        return CustodyFlag("unlisted", party_id, f"party {party_id!r} is not on the registry")
    roles = _roles(role_needed)
    fitting = [r for r in records if roles is None or r.get("role") in roles]
    if not fitting:
        held = ", ".join(sorted({str(r.get("role")) for r in records}))
        return CustodyFlag(
            "wrong_role", party_id, f"{party_id} is licensed as {held}, not {' or '.join(sorted(roles or ()))}"
        )
    covering = [r for r in fitting if r["valid_from"] <= at_ms < r["valid_to"]]
    live = [r for r in covering if (t := _revoked_at(r, records)) is None or at_ms < t]
    if live:
        if licence_number is not None and licence_number not in {r["licence_number"] for r in live}:
            held = ", ".join(sorted({r["licence_number"] for r in live}))
            return CustodyFlag(
                "licence_mismatch", party_id, f"declared licence {licence_number!r}, registry has {held}"
            )
        return None
    if covering:
        revoked = min(t for r in covering if (t := _revoked_at(r, records)) is not None)
        return CustodyFlag("revoked", party_id, f"licence of {party_id} revoked {_iso(revoked)}, step at {_iso(at_ms)}")
    if all(at_ms < r["valid_from"] for r in fitting):
        start = min(r["valid_from"] for r in fitting)
        return CustodyFlag(
            "not_yet_valid", party_id, f"licence of {party_id} valid from {_iso(start)}, step at {_iso(at_ms)}"
        )
    end = max(r["valid_to"] for r in fitting if r["valid_to"] <= at_ms)
    return CustodyFlag("expired", party_id, f"licence of {party_id} expired {_iso(end)}, step at {_iso(at_ms)}")


# --- lot eligibility -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustodyStep:
    """One hand-over recorded for a lot or battery: the event kind, the party, and its flag if any."""

    kind: str
    party_id: str
    flag: CustodyFlag | None = None
    event_id: str = ""


@dataclass(frozen=True)
class Provenance:
    """What is known of one lot or battery: its custody steps, what it was made from, which steps it needs.

    ``parents`` are the ids of input lots (Recycled) or of the dismantled battery (a black-mass lot);
    ``required`` are step kinds that must be present, e.g. ("Dismantled",) for black mass.
    """

    steps: tuple[CustodyStep, ...] = ()
    parents: tuple[str, ...] = ()
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class Gap:
    """One reason for ineligibility: the lot or battery ``node``, a code (FLAGS or GAPS) and a detail."""

    node: str
    code: str
    detail: str


@dataclass(frozen=True)
class Eligibility:
    """Whether a lot may go into a compliant output batch; ``reasons`` name the lot and why not."""

    lot_id: str
    eligible: bool
    reasons: list[str] = field(default_factory=list)
    gaps: tuple[Gap, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "lot_id": self.lot_id,
            "eligible": self.eligible,
            "reasons": list(self.reasons),
            "gaps": [{"node": g.node, "code": g.code, "detail": g.detail} for g in self.gaps],
        }


def _node_gaps(node: str, known: Provenance | None) -> list[Gap]:
    if known is None:
        return [Gap(node, "unknown_lot", "no provenance record: its custody cannot be shown")]
    if not known.steps and not known.parents:
        return [Gap(node, "no_custody_record", "no custody step and no inputs recorded")]
    gaps: list[Gap] = []
    for s in known.steps:
        if not s.party_id:
            gaps.append(Gap(node, "missing_party", f"{s.kind} names no party"))
        elif s.flag is not None:
            gaps.append(Gap(node, s.flag.code, f"{s.kind} by {s.party_id}: {s.flag.detail}"))
    seen = {s.kind for s in known.steps}
    gaps += [Gap(node, "missing_step", f"no {kind} step recorded") for kind in known.required if kind not in seen]
    return gaps


def lot_eligibility(lot_id: str, provenance: Mapping[str, Provenance]) -> Eligibility:
    """Walk the lot and all its ancestors (inputs, inputs of inputs, the dismantled batteries); any flagged
    step, missing required step or unknown ancestor is a chain-of-custody gap and makes the lot ineligible."""
    gaps: list[Gap] = []
    via: dict[str, str] = {lot_id: ""}
    queue = [lot_id]
    while queue:
        node = queue.pop(0)
        known = provenance.get(node)
        gaps += _node_gaps(node, known)
        for parent in known.parents if known else ():
            if parent not in via:
                via[parent] = node
                queue.append(parent)
    reasons = [f"{g.node}{_path(g.node, via)}: {g.code}: {g.detail}" for g in gaps]
    return Eligibility(lot_id, not gaps, reasons, tuple(gaps))


def _path(node: str, via: Mapping[str, str]) -> str:
    """`` (input of X -> Y)`` for an ancestor: the way its material flows into the output lot."""
    chain = []
    while via.get(node):
        node = via[node]
        chain.append(node)
    return f" (input of {' -> '.join(chain)})" if chain else ""
