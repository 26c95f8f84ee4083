"""Recycled content of cobalt, nickel and lithium by mass balance through the genealogy (EU 2023/1542 Art. 8).

A battery's recycled share of an element is the element mass contributed by recycled input lots over
the element mass of all its input lots, pre- and post-consumer kept apart. Lots recovered by our own
Recycled events come from dismantled end-of-life batteries, so they count as post-consumer in full.
A lot without an assay cannot be weighed: it is listed, never assumed recycled or virgin.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

ELEMENTS = ("Co", "Ni", "Li")
MINIMUM_SHARES: dict[int, dict[str, float]] = {
    2031: {"Co": 0.16, "Li": 0.06, "Ni": 0.06},
    2036: {"Co": 0.26, "Li": 0.12, "Ni": 0.15},
}
"""Art. 8(2)/(3) minimum recycled shares by the year they apply from (lead, 85 % from 2031, is out of scope)."""

_SLACK = 1e-9  # float noise allowed on sums of shares and fractions


def _share(name: str, x: float) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x) or not 0 <= x <= 1:
        raise ValueError(f"{name} must be a number in [0, 1], got {x!r}")
    return float(x)


@dataclass(frozen=True)
class LotInput:
    """One lot consumed into the battery, with its assay (``fractions`` None = not assayed)."""

    lot_id: str
    consumed_kg: float
    fractions: Mapping[str, float] | None
    pre_consumer: float = 0.0
    post_consumer: float = 0.0
    recovered: bool = False
    """Produced by one of our Recycled events: post-consumer in full, whatever the assay says."""

    def __post_init__(self) -> None:
        kg = self.consumed_kg
        if isinstance(kg, bool) or not isinstance(kg, int | float) or not math.isfinite(kg) or kg <= 0:
            raise ValueError(f"{self.lot_id}: consumed_kg must be > 0, got {kg!r}")
        pre = _share(f"{self.lot_id}: pre_consumer", self.pre_consumer)
        post = _share(f"{self.lot_id}: post_consumer", self.post_consumer)
        if pre + post > 1 + _SLACK:
            raise ValueError(f"{self.lot_id}: pre- plus post-consumer shares exceed 1 ({pre} + {post})")
        if self.fractions is not None:
            for el, f in self.fractions.items():
                _share(f"{self.lot_id}: fraction of {el}", f)
            if sum(self.fractions.values()) > 1 + _SLACK:
                raise ValueError(f"{self.lot_id}: element fractions sum to more than 1")

    @property
    def shares(self) -> tuple[float, float]:
        """(pre-consumer, post-consumer) share of this lot's mass that counts as recycled."""
        return (0.0, 1.0) if self.recovered else (self.pre_consumer, self.post_consumer)


@dataclass(frozen=True)
class ElementContent:
    """Mass of one element in the battery's inputs and how much of it is recycled."""

    element: str
    total_kg: float
    pre_consumer_kg: float
    post_consumer_kg: float

    @property
    def recycled_kg(self) -> float:
        return self.pre_consumer_kg + self.post_consumer_kg

    def _of_total(self, kg: float) -> float | None:
        return kg / self.total_kg if self.total_kg > 0 else None

    @property
    def share(self) -> float | None:
        """Recycled share (pre + post); None when the element is absent."""
        return self._of_total(self.recycled_kg)

    @property
    def pre_consumer_share(self) -> float | None:
        return self._of_total(self.pre_consumer_kg)

    @property
    def post_consumer_share(self) -> float | None:
        return self._of_total(self.post_consumer_kg)


def minimums(year: int) -> dict[str, float]:
    """The minimum shares in force in ``year`` (empty before 2031)."""
    applicable = [y for y in MINIMUM_SHARES if y <= year]
    return dict(MINIMUM_SHARES[max(applicable)]) if applicable else {}


@dataclass(frozen=True)
class RecycledContent:
    """Per-element recycled content of one battery, and the lots that could not be weighed."""

    elements: Mapping[str, ElementContent]
    unassayed_lots: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        return not self.unassayed_lots

    def targets_met(self, year: int) -> dict[str, bool | None]:
        """Per element with a minimum in ``year``: met or not; None when the element is absent (not applicable).

        An incomplete mass balance (unassayed lots) cannot prove a minimum, so it never counts as met.
        """
        out: dict[str, bool | None] = {}
        for el, minimum in minimums(year).items():
            share = self.elements[el].share if el in self.elements else None
            if share is None:
                out[el] = None if self.complete else False
            else:
                out[el] = self.complete and share + _SLACK >= minimum
        return out


def recycled_content(lots: Iterable[LotInput], elements: Iterable[str] = ELEMENTS) -> RecycledContent:
    """Mass balance over the lots consumed: element mass = consumed kg x fraction, split by recycled shares."""
    els = tuple(elements)
    total = dict.fromkeys(els, 0.0)
    pre = dict.fromkeys(els, 0.0)
    post = dict.fromkeys(els, 0.0)
    unassayed: list[str] = []
    for lot in lots:
        if lot.fractions is None:
            unassayed.append(lot.lot_id)
            continue
        pre_share, post_share = lot.shares
        for el in els:
            kg = lot.consumed_kg * lot.fractions.get(el, 0.0)
            total[el] += kg
            pre[el] += kg * pre_share
            post[el] += kg * post_share
    return RecycledContent(
        {el: ElementContent(el, total[el], pre[el], post[el]) for el in els}, tuple(dict.fromkeys(unassayed))
    )


@dataclass(frozen=True)
class MassBalance:
    """Inputs and outputs of one transformation; flagged when outputs exceed inputs beyond the tolerance."""

    input_kg: float
    output_kg: float
    tolerance: float

    @property
    def yield_fraction(self) -> float:
        return self.output_kg / self.input_kg

    @property
    def exceeds_inputs(self) -> bool:
        return self.output_kg > self.input_kg * (1 + self.tolerance)

    @property
    def ok(self) -> bool:
        return not self.exceeds_inputs


def _kg_sum(name: str, kg: float | Iterable[float]) -> float:
    values = [kg] if isinstance(kg, int | float) else list(kg)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be finite masses >= 0, got {v!r}")
    return float(sum(values))


def check_mass_balance(
    inputs_kg: float | Iterable[float], outputs_kg: float | Iterable[float], tolerance: float = 0.005
) -> MassBalance:
    """Compare a transformation's output mass with its input mass; ``tolerance`` is relative to the inputs.

    Outputs above inputs mean mass appeared from nowhere (mis-weighing, or unrecorded inputs that would
    dilute the recycled share), so they are flagged; the yield is recorded either way.
    """
    tol = _share("tolerance", tolerance)
    total_in = _kg_sum("inputs_kg", inputs_kg)
    if total_in <= 0:
        raise ValueError("a transformation needs inputs > 0 kg")
    return MassBalance(total_in, _kg_sum("outputs_kg", outputs_kg), tol)
