"""What a recycled-content claim may count: where each lot's recycled mass came from, and which lots are excluded.

A lot's recycled share is only as good as the chain behind it. Two rules decide what counts (EU 2023/1542 Art. 8
and its recycled-content methodology: recycled content is claimed by mass balance over a controlled chain of
custody):

- **Origin follows the inputs.** Whether recycled mass is pre-consumer (manufacturing waste) or post-consumer
  (waste from products that reached a user) is a fact about the material that went in, not about the step that
  recovered it. Black mass takes the origin of the packs it was dismantled from: a pack that never reached a user
  (never integrated into a vehicle: an end-of-line reject, production scrap) gives pre-consumer material, a pack
  that did gives post-consumer. A recovered lot takes the mass-weighted mix of its inputs' origins, so mixed inputs
  are split by mass. A lot with no genealogy behind it (a supplier's lot) keeps what its assay declares. Mass whose
  origin cannot be traced (an input without a mass, an unclassified input) is *unknown*: never counted.
- **Excluded lots.** A lot that may not go into compliant output (``battrace/domain/custody.py``: a custody gap on
  it or any ancestor) and a lot behind which a transformation put out more mass than went in (``mass_balance``
  flags on it or on any ancestor: recovered lots that outweigh their inputs, black mass heavier than its pack)
  count as not recycled. Their recycled mass is listed with the reason, never silently dropped.

Pure functions of the genealogy, the pack histories, the eligibility verdicts and the flags, so ``battrace verify``
recomputes the same figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

LOT_INELIGIBLE = "lot_ineligible"
MASS_BALANCE_EXCEEDED = "mass_balance_exceeded"
ORIGIN_UNKNOWN = "origin_unknown"
EXCLUSION_CODES = (LOT_INELIGIBLE, MASS_BALANCE_EXCEEDED, ORIGIN_UNKNOWN)

DECLARED, DISMANTLED, RECOVERED, UNTRACED = "declared", "dismantled", "recovered", "untraced"
"""How a lot's origin is known: its assay's declaration, the packs it was dismantled from, the inputs it was
recycled from, or not at all."""


@dataclass(frozen=True)
class Origin:
    """Shares of a lot's mass that are pre-consumer recycled, post-consumer recycled, or of unknown origin."""

    pre: float = 0.0
    post: float = 0.0
    unknown: float = 0.0
    basis: str = DECLARED

    @property
    def recycled(self) -> float:
        """The share that counts as recycled (pre + post); unknown never counts."""
        return self.pre + self.post


PRE_CONSUMER = Origin(pre=1.0, basis=DISMANTLED)
POST_CONSUMER = Origin(post=1.0, basis=DISMANTLED)
UNKNOWN = Origin(unknown=1.0, basis=UNTRACED)


def mix(parts: Iterable[tuple[float | None, Origin]], basis: str) -> Origin:
    """The mass-weighted origin of material made from ``parts`` (kg, origin); a part without a mass makes the whole
    unknown, since its weight in the mix cannot be known."""
    weighed = list(parts)
    if not weighed or any(kg is None for kg, _ in weighed):
        return UNKNOWN
    total = sum(kg for kg, _ in weighed if kg is not None)
    if total <= 0:
        return UNKNOWN

    def share(of: str) -> float:
        return sum((kg or 0.0) * getattr(o, of) for kg, o in weighed) / total

    return Origin(share("pre"), share("post"), share("unknown"), basis)


@dataclass(frozen=True)
class Genealogy:
    """What lot origins depend on: lot -> [(pack, kg)] dismantled into it, lot -> [(input lot, kg)] recycled into
    it, each lot's declared (pre, post) shares (None: not assayed), and the packs that reached a user."""

    dismantled_from: Mapping[str, Sequence[tuple[str, float | None]]]
    recycled_from: Mapping[str, Sequence[tuple[str, float | None]]]
    declared: Mapping[str, tuple[float, float] | None]
    packs_in_use: frozenset[str]


def lot_origins(g: Genealogy) -> dict[str, Origin]:
    """Origin of every lot named in ``g``; a lot on a genealogy cycle is unknown (it cannot be its own source)."""
    done: dict[str, Origin] = {}

    def origin(lot: str, path: frozenset[str]) -> Origin:
        if lot in done:
            return done[lot]
        if lot in path:
            return UNKNOWN
        if g.recycled_from.get(lot):
            inner = path | {lot}
            found = mix(((kg, origin(src, inner)) for src, kg in g.recycled_from[lot]), RECOVERED)
        elif g.dismantled_from.get(lot):
            packs = g.dismantled_from[lot]
            found = mix(((kg, POST_CONSUMER if p in g.packs_in_use else PRE_CONSUMER) for p, kg in packs), DISMANTLED)
        elif g.declared.get(lot) is not None:
            pre, post = g.declared[lot] or (0.0, 0.0)
            found = Origin(pre, post, 0.0, DECLARED)
        else:
            found = UNKNOWN
        done[lot] = found
        return found

    names = set(g.declared) | set(g.recycled_from) | set(g.dismantled_from)
    return {lot: origin(lot, frozenset()) for lot in sorted(names)}


@dataclass(frozen=True)
class Exclusion:
    code: str  # one of EXCLUSION_CODES
    detail: str


def ancestors(lot: str, g: Genealogy) -> list[str]:
    """The lot, the lots it was recycled from (transitively) and the packs behind them, lot first, each once."""
    out, stack, seen = [], [lot], {lot}
    while stack:
        node = stack.pop()
        out.append(node)
        nxt = [src for src, _ in g.recycled_from.get(node, ())] + [p for p, _ in g.dismantled_from.get(node, ())]
        for n in sorted(nxt, reverse=True):
            if n not in seen:
                seen.add(n)
                stack.append(n)
    return out


def lot_exclusions(
    lot: str,
    g: Genealogy,
    ineligible: Mapping[str, str],
    unbalanced: Mapping[str, str],
) -> tuple[Exclusion, ...]:
    """Why the lot's recycled mass may not be claimed: ``ineligible`` maps a lot to its first eligibility reason
    (the verdict already covers its ancestors), ``unbalanced`` maps a lot or pack to its mass-balance flag."""
    out = []
    if lot in ineligible:
        out.append(Exclusion(LOT_INELIGIBLE, ineligible[lot]))
    behind = [n for n in ancestors(lot, g) if n in unbalanced]
    if behind:
        first = behind[0]
        more = f" (+{len(behind) - 1} more upstream)" if len(behind) > 1 else ""
        via = "" if first == lot else f" upstream: {first}"
        out.append(Exclusion(MASS_BALANCE_EXCEEDED, f"{unbalanced[first]}{via}{more}"))
    return tuple(out)


@dataclass(frozen=True)
class ClaimLot:
    """A lot consumed into a battery, with what the claim may count of it."""

    lot_id: str
    consumed_kg: float
    fractions: Mapping[str, float] | None  # None: not assayed
    origin: Origin
    exclusions: tuple[Exclusion, ...] = ()

    @property
    def counted(self) -> tuple[float, float]:
        """(pre, post) shares of the lot's mass the claim counts: none for an excluded lot."""
        return (0.0, 0.0) if self.exclusions else (self.origin.pre, self.origin.post)


@dataclass(frozen=True)
class ExcludedMass:
    """Recycled element mass of one lot that a battery's claim does not count, and why."""

    lot_id: str
    element: str
    kg: float
    reasons: tuple[Exclusion, ...]


def excluded_masses(lots: Iterable[ClaimLot], elements: Sequence[str]) -> list[ExcludedMass]:
    """Per element and lot: the recycled mass left out (the recycled and untraced share of an excluded lot, the
    untraced share of any other), each with its reasons; assayed lots only (an unassayed lot has no element mass)."""
    out: list[ExcludedMass] = []
    for lot in lots:
        if lot.fractions is None:
            continue
        if lot.exclusions:  # everything that could have counted: its recycled and its untraced share
            share, reasons = lot.origin.recycled + lot.origin.unknown, lot.exclusions
        else:
            unknown = Exclusion(ORIGIN_UNKNOWN, f"{lot.origin.unknown:.1%} of the lot's mass has no traced origin")
            share, reasons = lot.origin.unknown, (unknown,)
        if share <= 0:
            continue
        for el in elements:
            kg = lot.consumed_kg * lot.fractions.get(el, 0.0) * share
            if kg > 0:
                out.append(ExcludedMass(lot.lot_id, el, kg, reasons))
    return out
