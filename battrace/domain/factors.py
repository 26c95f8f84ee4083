"""The emission-factor table as versioned data (battrace/domain/data/factors.csv), not constants in code.

Every factor names its source, scope and year, so a ledger line or a footprint can say exactly which
number it used. Supplier-specific (primary) values take precedence over the table's secondary
factors (EU 2023/1542 Annex II). Scopes never mix within a kind: a transport table that combined
tank-to-wheel and well-to-wheel intensities would make consignments incomparable, so loading it fails.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

COLUMNS = ("factor_id", "version", "kind", "mode_or_material", "value", "unit", "scope", "source", "year")
TRANSPORT, HUB, REFINING, GRID, CYCLES = "transport", "hub", "refining", "grid", "cycles"
END_OF_LIFE = "end_of_life"
SUPPLIER = "supplier"


class FactorTableError(ValueError):
    """The table itself is unusable (bad row, duplicate id, mixed scopes)."""


class MixedScopeError(FactorTableError):
    """Rows of one kind declare different scopes."""


class UnknownFactorError(LookupError):
    """No factor with that id, mode, material or category."""


@dataclass(frozen=True)
class Factor:
    """One emission factor and where it comes from; ``source == "supplier"`` marks a primary value."""

    id: str
    version: str
    value: float
    unit: str
    scope: str
    source: str
    year: int | None
    kind: str = ""
    key: str = ""

    @property
    def is_supplier(self) -> bool:
        return self.source == SUPPLIER


class FactorTable:
    """Factors indexed by id and by (kind, mode/material/category); one scope per kind."""

    def __init__(self, factors: Iterable[Factor]) -> None:
        self._by_id: dict[str, Factor] = {}
        self._by_key: dict[tuple[str, str], Factor] = {}
        scopes: dict[str, str] = {}
        for f in factors:
            if f.id in self._by_id:
                raise FactorTableError(f"duplicate factor id {f.id!r}")
            if (f.kind, f.key) in self._by_key:
                raise FactorTableError(f"two {f.kind} factors for {f.key!r}: {self._by_key[f.kind, f.key].id}, {f.id}")
            first = scopes.setdefault(f.kind, f.scope)
            if f.scope != first:
                raise MixedScopeError(f"{f.kind} factors mix scopes {first!r} and {f.scope!r} (factor {f.id})")
            self._by_id[f.id] = f
            self._by_key[f.kind, f.key] = f
        self.scopes: dict[str, str] = scopes

    @classmethod
    def load(cls, path: str | Path | None = None) -> FactorTable:
        """Read a factor CSV; without ``path``, the table shipped with battrace."""
        if path is None:
            text = resources.files("battrace.domain").joinpath("data", "factors.csv").read_text(encoding="utf-8")
            name = "battrace/domain/data/factors.csv"
        else:
            text, name = Path(path).read_text(encoding="utf-8"), str(path)
        reader = csv.DictReader(text.splitlines())
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise FactorTableError(f"{name}: columns must be {','.join(COLUMNS)}")
        return cls(_row(name, n, row) for n, row in enumerate(reader, start=2))

    def __iter__(self) -> Iterator[Factor]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def lookup(self, factor_id: str) -> Factor:
        try:
            return self._by_id[factor_id]
        except KeyError:
            raise UnknownFactorError(f"unknown factor id {factor_id!r}") from None

    def _keyed(self, kind: str, key: str) -> Factor:
        try:
            return self._by_key[kind, key]
        except KeyError:
            known = sorted(k for kd, k in self._by_key if kd == kind)
            raise UnknownFactorError(f"no {kind} factor for {key!r}; known: {', '.join(known)}") from None

    def transport(self, mode: str) -> Factor:
        """Intensity in g CO2e per t.km for a transport mode (the logistics schema's TransportMode)."""
        return self._keyed(TRANSPORT, mode)

    def hub(self, hub_kind: str) -> Factor:
        """Hub operation intensity in kg CO2e per tonne handled, for a kind of hub (battrace/domain/transport.py)."""
        return self._keyed(HUB, hub_kind)

    def end_of_life(self, process: str) -> Factor:
        """End-of-life intensity of one process (collection, dismantling, recycling), kg CO2e per kg handled."""
        return self._keyed(END_OF_LIFE, process)

    def refining(self, material: str, supplier_value: float | None = None, *, ref: str | None = None) -> Factor:
        """The supplier's intensity when there is one (kg CO2e/kg product), else the secondary default.

        ``ref`` names the primary value's origin (e.g. ``assay:<lot>:<event>``) so the ledger can cite it;
        a primary value needs no table row for ``material``, since lot products are free text.
        """
        if supplier_value is None:
            return self._keyed(REFINING, material)
        if (
            isinstance(supplier_value, bool)
            or not isinstance(supplier_value, int | float)
            or not math.isfinite(supplier_value)
            or supplier_value < 0
        ):
            raise ValueError(f"supplier refining intensity must be a finite number >= 0, got {supplier_value!r}")
        return Factor(
            id=ref or f"{SUPPLIER}:{material}",
            version=SUPPLIER,
            value=float(supplier_value),
            unit="kg CO2e/kg product",
            scope=self.scopes.get(REFINING, "cradle-to-gate"),
            source=SUPPLIER,
            year=None,
            kind=REFINING,
            key=material,
        )

    def grid(self, region: str = "default") -> Factor:
        """Electricity emission factor, kg CO2e per kWh."""
        return self._keyed(GRID, region)

    def cycles(self, category: str) -> Factor:
        """Default full-equivalent cycles per year for a UNECE vehicle category."""
        return self._keyed(CYCLES, category)


def _row(name: str, line: int, row: dict[str, str]) -> Factor:
    where = f"{name} line {line}"
    if any(v is None or not v.strip() for v in row.values()) or None in row:
        raise FactorTableError(f"{where}: every column needs a value (source, scope and year included)")
    try:
        value, year = float(row["value"]), int(row["year"])
    except ValueError as e:
        raise FactorTableError(f"{where}: {e}") from None
    if not math.isfinite(value) or value < 0:
        raise FactorTableError(f"{where}: value must be finite and >= 0")
    return Factor(
        id=row["factor_id"].strip(),
        version=row["version"].strip(),
        value=value,
        unit=row["unit"].strip(),
        scope=row["scope"].strip(),
        source=row["source"].strip(),
        year=year,
        kind=row["kind"].strip(),
        key=row["mode_or_material"].strip(),
    )


@cache
def shipped_table() -> FactorTable:
    """The table shipped with battrace, read once per process."""
    return FactorTable.load()
