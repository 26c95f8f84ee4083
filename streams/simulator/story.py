"""The valid story: batteries from refinery lots to vehicles, end of life, recycling and back into new cells.

A seeded discrete-event simulation. Processes (production lines, consignments, vehicle lives, recyclers)
are generators that yield either a ``Draft`` (an event that happens now) or a float (seconds to wait);
one heap orders them on a single simulated clock, so an event never precedes the events it depends on
and event times never go backwards. Nothing reads the wall clock.

Years are compressed into weeks where the real world is slow: a share of packs fail early (accident,
recall, replacement after service), so a run of a few simulated weeks closes the recycling loop.
Only live things are kept (open lots, packs awaiting shipment, vehicles with a pending fate), so memory
stays bounded however long the run.

With ``violations=True`` the world also breaks the rules now and then, in valid events that the compliance
checks must flag (each such draft names the flags it should raise): an unregistered haulier, a pack
installed twice, end-of-line rejects dismantled without collection or by a dismantler whose licence lapsed,
a scrapped code that turns up at a service bay, and a toll batch whose outputs exceed its declared inputs.
In transit (streams/simulator/transit_incidents.py), a few consignments take a detour, stop on the road, overstay
at a hub or are handed over at a rest area instead of the receiver's site; the drafts that must raise the transit
flags name them (``Draft.transit``).
"""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, NamedTuple

from schemas.catalog import ASSAY_RESULT, LICENSED_ENTITY, LOGISTICS_EVENT, MES_EVENT
from streams import topics
from streams.simulator import transit_incidents, zones
from streams.simulator.geo import FIX_EVERY_H, SITES, SPEED_KMH, Site, nautical_offset, route, site_offset

START_MS = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp() * 1000)
HOUR_S, DAY_S = 3600.0, 86400.0
NCM, LFP = "NCM", "LFP"


class Draft(NamedTuple):
    """One valid event, not yet encoded."""

    topic: str
    key: str
    schema: str
    record: dict[str, Any]
    timestamp_ms: int  # Kafka timestamp: event time plus the producer's delay
    flags: tuple[str, ...] = ()  # compliance flags the checkers must raise for this (valid) event
    transit: tuple[str, ...] = ()  # transit flags (battrace/domain/transit.py) the consignment's rules must raise here


Process = Generator["Draft | float", None, Any]


# --- identifiers -------------------------------------------------------------------------------------

YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"  # 2010 = A, VIN-style 30-year cycle (no I, O, Q, U, Z)
MONTH_CODES = "123456789ABC"
DAY_CODES = "123456789ABCDEFGHJKLMNPRSTUVWXY"
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def date_code(d: date) -> str:
    """GB/T 34014 production date (year, month, day characters); the year table is VIN-like."""
    return YEAR_CODES[(d.year - 2010) % 30] + MONTH_CODES[d.month - 1] + DAY_CODES[d.day - 1]


def battery_code(mfr: str, product: str, battery_type: str, spec: str, trace: str, day: str, serial: int) -> str:
    return f"{mfr}{product}{battery_type}{spec}{trace}{day}{serial:07d}"


def base36(n: int, width: int) -> str:
    out = ""
    for _ in range(width):
        n, r = divmod(n, 36)
        out = _B36[r] + out
    return out


def gtin14(body13: str) -> str:
    """GTIN-14 with its mod-10 check digit."""
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body13)))
    return body13 + str((10 - total % 10) % 10)


_VIN_VALUE = {
    c: int(v) for c, v in zip("0123456789ABCDEFGHJKLMNPRSTUVWXYZ", "012345678912345678123457923456789", strict=True)
}
_VIN_WEIGHT = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin(wmi: str, vds: str, year: int, plant: str, serial: int) -> str:
    """17-character VIN with the ISO 3779 / North-American check digit in position 9."""
    raw = f"{wmi}{vds}0{YEAR_CODES[(year - 2010) % 30]}{plant}{serial:06d}"
    check = sum(_VIN_VALUE[c] * w for c, w in zip(raw, _VIN_WEIGHT, strict=True)) % 11
    return raw[:8] + ("X" if check == 10 else str(check)) + raw[9:]


# --- parties -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    entity_id: str
    role: str
    licence: str
    region: str  # ISO 3166-2
    site_id: str
    name: str


# entity id (smelters: their RMI CID) | role | licence number | region | site | legal name
_PARTY_TABLE = """
CID003187  | SMELTER      | RMAP-2025-0187       | CN-ZJ | CN-ZJ-QUZHOU-REF     | Quzhou Cobalt Refinery Co., Ltd.
CID004120  | SMELTER      | RMAP-2025-0420       | ID-ST | ID-ST-MOROWALI-REF   | PT Morowali Nickel Refinery
CID004455  | SMELTER      | RMAP-2025-0455       | CN-JX | CN-JX-YICHUN-REF     | Yichun Lithium Salt Co., Ltd.
CID004810  | SMELTER      | RMAP-2025-0810       | AU-WA | AU-WA-KWINANA-REF    | Kwinana Lithium Hydroxide Pty Ltd
CN-LAB-001 | LAB          | CNAS L5123           | CN-FJ | CN-FJ-XIAMEN-LAB     | Xiamen Battery Materials Test Center
DE-LAB-001 | LAB          | D-PL-21131-01-00     | DE-SN | DE-SN-FREIBERG-LAB   | Freiberg Analytik GmbH
CN-MFR-001 | MANUFACTURER | MIIT-PB-2024-0117    | CN-FJ | CN-FJ-NINGDE-CELL    | Minjiang Energy Technology Co., Ltd.
CN-MFR-002 | MANUFACTURER | MIIT-PB-2024-0242    | CN-AH | CN-AH-HEFEI-CELL     | Chaohu New Energy Co., Ltd.
CN-MFR-003 | MANUFACTURER | MIIT-VEH-2023-1180   | CN-SH | CN-SH-ANTING-VEH     | Huangpu Motor Co., Ltd.
DE-MFR-001 | MANUFACTURER | KBA-WVTA-0412        | DE-SN | DE-SN-ZWICKAU-VEH    | Saxonia Automobilwerk GmbH
CN-TRN-001 | TRANSPORTER  | RTL-350900-2024-0082 | CN-FJ | CN-FJ-NINGDE-CELL    | Minhai Road Freight Co., Ltd.
CN-TRN-002 | TRANSPORTER  | NVOCC-MOC-2024-1138  | CN-SH | CN-SH-YANGSHAN-PORT  | Donghai Ocean Logistics Co., Ltd.
CN-TRN-003 | TRANSPORTER  | RFW-340100-2024-0451 | CN-AH | CN-AH-HEFEI-CELL     | Silk Rail Express Co., Ltd.
DE-TRN-001 | TRANSPORTER  | ADR-DE-SN-2024-5521  | DE-SN | DE-NW-DUISBURG-TERM  | Elbe-Rhein Spedition GmbH
CN-COL-001 | COLLECTOR    | MIIT-WL-2023-031     | CN-SH | CN-SH-JIADING-COL    | Jiading Battery Collection Co., Ltd.
DE-COL-001 | COLLECTOR    | EAR-BATT-DE-48213917 | DE-SN | DE-SN-CHEMNITZ-COL   | Sachsen Akku-Ruecknahme GmbH
CN-DSM-001 | DISMANTLER   | MIIT-WL-2023-047     | CN-JS | CN-JS-CHANGZHOU-DSM  | Changzhou Battery Dismantling Co.
DE-DSM-001 | DISMANTLER   | BImSchG-SN-2022-0311 | DE-SN | DE-SN-FREIBERG-DSM   | Freiberg Demontage GmbH
CN-RCY-001 | RECYCLER     | HW-4208-2024-0015    | CN-HB | CN-HB-JINGMEN-RCY    | Jingmen Materials Recycling Co., Ltd.
DE-RCY-001 | RECYCLER     | BImSchG-ST-2023-0118 | DE-ST | DE-ST-BITTERFELD-RCY | Bitterfeld Battery Recycling GmbH
CN-DSM-002 | DISMANTLER   | MIIT-WL-2020-012     | CN-AH | CN-AH-WUHU-DSM       | Wuhu Jinghe Scrap Battery Co., Ltd.
"""
PARTIES: dict[str, Party] = {
    p.entity_id: p
    for p in (Party(*(cell.strip() for cell in row.split("|"))) for row in _PARTY_TABLE.strip().splitlines())
}
CERT_PREFIX = {"CN-LAB-001": "XMBT", "DE-LAB-001": "FRAN"}
LICENCE_MS = 5 * 365 * 86_400_000  # licences run five years
RENEW_AHEAD_MS = 120 * 86_400_000  # and are renewed this long before they expire
# Registered once, never renewed: the licence ran out before the story starts (2020-10-01 + 5 years).
LAPSED_DISMANTLER = "CN-DSM-002"
LAPSED: dict[str, datetime] = {LAPSED_DISMANTLER: datetime(2020, 10, 1, tzinfo=UTC)}
# A haulier on no registry: a forwarder subcontracts to it (compliance incident, never published).
UNLISTED_HAULIER = Party(
    "CN-TRN-009", "TRANSPORTER", "RTL-350100-2025-0917", "CN-FJ", "CN-FJ-NINGDE-CELL", "Fuqing Swift Haulage Co."
)


def transporter(origin_country: str, mode: str) -> Party:
    if origin_country != "CN":
        return PARTIES["DE-TRN-001"]
    return PARTIES[{"ROAD": "CN-TRN-001", "SEA": "CN-TRN-002"}.get(mode, "CN-TRN-003")]


# --- materials -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Supplier:
    smelter_id: str | None  # RMI CID, also the smelter's registry id
    site_id: str  # where lots are sampled
    mines: tuple[str, ...]  # national cadastre licences feeding it
    origin_country: str


@dataclass(frozen=True)
class Product:
    name: str
    gtin: str
    fractions: tuple[tuple[str, float], ...]  # nominal mass fractions
    intensity: tuple[float, float] | None = None  # kg CO2e per kg, supplier-specific range
    lot_kg: tuple[float, float] = (100.0, 300.0)
    suppliers: tuple[Supplier, ...] = ()

    def fraction(self, element: str) -> float:
        return dict(self.fractions)[element]


_QUZHOU = Supplier("CID003187", "CN-ZJ-QUZHOU-REF", ("PE 4960", "PE 11751", "PE 527"), "CD")
_MOROWALI = Supplier("CID004120", "ID-ST-MOROWALI-REF", ("IUP-OP 540/2018", "IUP-OP 188/2020"), "ID")
_YICHUN = Supplier("CID004455", "CN-JX-YICHUN-REF", ("C3600002011071120114489",), "CN")
_KWINANA = Supplier("CID004810", "AU-WA-KWINANA-REF", ("M70/780", "M70/1133"), "AU")
_BAOTOU = Supplier(None, "CN-NM-BAOTOU-GRA", (), "CN")

_NCM811 = (("Li", 0.0717), ("Ni", 0.4856), ("Co", 0.0610), ("Mn", 0.0568), ("Al", 0.0010))
_LFP = (("Li", 0.0440), ("Fe", 0.3540), ("P", 0.1963))
_BM_NCM = (("Ni", 0.2700), ("Co", 0.0340), ("Mn", 0.0320), ("Li", 0.0400), ("C", 0.3000), ("Cu", 0.0300), ("Al", 0.02))
_BM_LFP = (("Li", 0.0250), ("Fe", 0.2000), ("P", 0.1100), ("C", 0.3200), ("Cu", 0.0300), ("Al", 0.0200))
PRODUCTS: dict[str, Product] = {
    "ncm811": Product("NCM811 cathode active material", gtin14("0690123400011"), _NCM811, (14.0, 25.0),
                      suppliers=(_QUZHOU, _MOROWALI)),
    "lfp": Product("LFP cathode active material", gtin14("0690123400028"), _LFP, (8.0, 13.0),
                   suppliers=(_YICHUN, _KWINANA)),
    "graphite": Product("synthetic graphite anode material", gtin14("0690123400035"),
                        (("C", 0.9950), ("Si", 0.0004), ("Fe", 0.0002)), (4.0, 12.0), suppliers=(_BAOTOU,)),
    "bm-ncm": Product("black mass (NCM)", gtin14("0690123400042"), _BM_NCM),
    "bm-lfp": Product("black mass (LFP)", gtin14("0690123400059"), _BM_LFP),
    "niso4": Product("recovered nickel sulfate (anhydrous)", gtin14("0690123400066"), (("Ni", 0.3793),), (2.0, 6.0)),
    "coso4": Product("recovered cobalt sulfate (anhydrous)", gtin14("0690123400073"), (("Co", 0.3802),), (2.0, 6.0)),
    "li2co3": Product("recovered lithium carbonate", gtin14("0690123400080"), (("Li", 0.1878),), (2.5, 7.0)),
    "fepo4": Product("recovered iron phosphate", gtin14("0690123400097"), (("Fe", 0.3700), ("P", 0.2050)), (1.5, 4.0)),
}  # fmt: skip
BLACK_MASS = {NCM: "bm-ncm", LFP: "bm-lfp"}
# Recovered product, element it is made from, hydrometallurgical recovery rate. Salts are weighed anhydrous:
# hydrates (NiSO4.6H2O) weigh more than the black mass they come from, because of acid and water that are no
# declared input, and the mass balance (outputs <= inputs) would flag every NCM batch.
RECOVERY = {
    NCM: (("niso4", "Ni", 0.95), ("coso4", "Co", 0.95), ("li2co3", "Li", 0.85)),
    LFP: (("li2co3", "Li", 0.85), ("fepo4", "Fe", 0.90)),
}
RECOVERED_KG_PER_CELL = 0.04  # recovered salts blended in per cell, standing in for the precursor step
MIN_LOT_REST_KG = 0.05  # a lot left with less than this is finished off (the residue goes with the last draw)


@dataclass
class Lot:
    lot_id: str
    product: str
    mass_kg: float
    remaining_kg: float = 0.0

    def __post_init__(self) -> None:
        self.remaining_kg = self.mass_kg


# --- batteries, plants, regions ------------------------------------------------------------------------


@dataclass(frozen=True)
class CellSpec:
    model: str
    spec: str  # GB/T 34014 specification code
    capacity_ah: float
    energy_kwh: float
    mass_kg: float
    cathode_kg: float
    anode_kg: float
    certification: str


@dataclass(frozen=True)
class PackSpec:
    model: str
    spec: str
    modules: int
    cells_per_module: int
    gtin: str
    certification: str

    @property
    def design(self) -> Design:
        cells = self.modules * self.cells_per_module
        step = "pack assembly and end-of-line test"
        return Design(
            "P",
            self.model,
            self.spec,
            self.certification,
            12.0 + 2.0 * self.modules,
            step,
            2.0 + 0.05 * cells,
            self.gtin,
        )


class Design(NamedTuple):
    """What an assembly step makes (a module or pack model) and what assembling adds."""

    product: str  # GB/T 34014 product type: M or P
    model: str
    spec: str
    certification: str
    extra_kg: float  # frame, busbars, housing, BMS
    step: str  # production step reported with the energy used
    kwh: float
    gtin: str | None = None  # packs carry a GS1 SGTIN


def module_design(cell: CellSpec, mfr_code: str, n: int) -> Design:
    """Modules are n cells in series; the model follows from the cell count."""
    cert = f"{cell.certification}-M{n:02d}"
    return Design("M", f"{mfr_code}-M{n}S", f"{n:02d}", cert, 1.0 + 0.15 * n, "module assembly", 0.8 + 0.15 * n)


@dataclass(frozen=True)
class LineSpec:
    chemistry: str
    battery_type: str  # GB/T 34014 position 5: E = NCM, B = LFP
    mfr_code: str
    party_id: str
    line_no: str
    cell: CellSpec
    packs: tuple[PackSpec, ...]
    cathode: str
    grid_kg_per_kwh: float
    routes: tuple[tuple[float, tuple[str, ...]], ...]  # (weight, stops) to vehicle plants

    @property
    def site(self) -> Site:
        return SITES[PARTIES[self.party_id].site_id]


# Freight routes as stops: origin, geofenced hubs, destination.
NINGDE_TO_ANTING = ("CN-FJ-NINGDE-CELL", "CN-SH-ANTING-VEH")
NINGDE_TO_ZWICKAU = ("CN-FJ-NINGDE-CELL", "CN-SH-YANGSHAN-PORT", "NL-ZH-MAASVLAKTE-PORT", "DE-SN-ZWICKAU-VEH")
HEFEI_TO_ANTING = ("CN-AH-HEFEI-CELL", "CN-SH-ANTING-VEH")
HEFEI_TO_ZWICKAU = (
    "CN-AH-HEFEI-CELL", "KZ-ZT-KHORGOS-GW", "PL-LU-MALASZEWICZE-TERM", "DE-NW-DUISBURG-TERM", "DE-SN-ZWICKAU-VEH",
)  # fmt: skip
JINGMEN_TO_NINGDE = ("CN-HB-JINGMEN-RCY", "CN-FJ-NINGDE-CELL")
JINGMEN_TO_HEFEI = ("CN-HB-JINGMEN-RCY", "CN-AH-HEFEI-CELL")
BITTERFELD_TO_NINGDE = ("DE-ST-BITTERFELD-RCY", *reversed(NINGDE_TO_ZWICKAU[:-1]))
BITTERFELD_TO_HEFEI = ("DE-ST-BITTERFELD-RCY", *reversed(HEFEI_TO_ZWICKAU[:-1]))

LINES: tuple[LineSpec, ...] = (
    LineSpec(
        chemistry=NCM,
        battery_type="E",
        mfr_code="MJ1",
        party_id="CN-MFR-001",
        line_no="1",
        cell=CellSpec("MJ-NCM811-P150", "N5", 150.0, 0.551, 2.46, 0.74, 0.45, "GB38031-MJ-C150-2025"),
        packs=(
            PackSpec("MJ-P24A", "PA", 3, 8, gtin14("0690123410010"), "GB38031-MJ-P24A-2025"),
            PackSpec("MJ-P24B", "PB", 2, 12, gtin14("0690123410027"), "GB38031-MJ-P24B-2025"),
            PackSpec("MJ-P36", "PC", 3, 12, gtin14("0690123410034"), "GB38031-MJ-P36-2025"),
            PackSpec("MJ-P16", "PD", 4, 4, gtin14("0690123410041"), "GB38031-MJ-P16-2025"),
        ),
        cathode="ncm811",
        grid_kg_per_kwh=0.47,
        routes=((0.5, NINGDE_TO_ANTING), (0.5, NINGDE_TO_ZWICKAU)),
    ),
    LineSpec(
        chemistry=LFP,
        battery_type="B",
        mfr_code="CH2",
        party_id="CN-MFR-002",
        line_no="2",
        cell=CellSpec("CH-LFP-P100", "L1", 100.0, 0.320, 1.98, 0.65, 0.30, "GB38031-CH-C100-2025"),
        packs=(
            PackSpec("CH-P40", "QA", 4, 10, gtin14("0690123420019"), "GB38031-CH-P40-2025"),
            PackSpec("CH-P24", "QB", 3, 8, gtin14("0690123420026"), "GB38031-CH-P24-2025"),
            PackSpec("CH-P20", "QC", 2, 10, gtin14("0690123420033"), "GB38031-CH-P20-2025"),
            PackSpec("CH-P12", "QD", 2, 6, gtin14("0690123420040"), "GB38031-CH-P12-2025"),
        ),
        cathode="lfp",
        grid_kg_per_kwh=0.62,
        routes=((0.6, HEFEI_TO_ANTING), (0.4, HEFEI_TO_ZWICKAU)),
    ),
)
CELL_STEPS = (("electrode coating and drying", 9.0, 14.0), ("cell assembly and formation", 5.0, 8.0))  # kWh/kWh


@dataclass(frozen=True)
class RegionSpec:
    """Who services, collects, dismantles, assays and recycles packs that end their life in one country."""

    country: str
    service_site: str
    collector: str
    dismantler: str
    lab: str
    recycler: str
    returns: dict[str, tuple[str, ...]]  # chemistry -> route of recovered lots back to the cell plant
    repurposer: str = ""  # the manufacturer that gives retired packs a second life in stationary storage


REGIONS: dict[str, RegionSpec] = {
    "CN": RegionSpec(
        country="CN",
        service_site="CN-SH-MINHANG-SVC",
        collector="CN-COL-001",
        dismantler="CN-DSM-001",
        lab="CN-LAB-001",
        recycler="CN-RCY-001",
        returns={NCM: JINGMEN_TO_NINGDE, LFP: JINGMEN_TO_HEFEI},
        repurposer="CN-MFR-001",
    ),
    "DE": RegionSpec(
        country="DE",
        service_site="DE-SN-LEIPZIG-SVC",
        collector="DE-COL-001",
        dismantler="DE-DSM-001",
        lab="DE-LAB-001",
        recycler="DE-RCY-001",
        returns={NCM: BITTERFELD_TO_NINGDE, LFP: BITTERFELD_TO_HEFEI},
        repurposer="DE-MFR-001",
    ),
}


@dataclass(frozen=True)
class VehiclePlantSpec:
    party_id: str
    region: str
    wmi: str
    plant_char: str
    models: tuple[tuple[str, str, str], ...]  # (vehicle model, VIN descriptor, UNECE category)


VEHICLE_PLANTS: dict[str, VehiclePlantSpec] = {
    "CN-SH-ANTING-VEH": VehiclePlantSpec(
        "CN-MFR-003", "CN", "LHM", "A", (("Huangpu E5", "E5A2B", "M1"), ("Huangpu Cargo EV", "CV1N4", "N1"))
    ),
    "DE-SN-ZWICKAU-VEH": VehiclePlantSpec(
        "DE-MFR-001", "DE", "WSX", "Z", (("Saxonia Volta", "VLT3E", "M1"), ("Saxonia Kombi-E", "KBE2N", "N1"))
    ),
}
SPARES_PER_PLANT = 2
# Fate of a pack once in a vehicle (cumulative shares): quiet life, service, replacement, early end of life.
FATE_QUIET, FATE_SERVICE, FATE_REPLACE = 0.80, 0.88, 0.93
SECOND_LIFE_SHARE = 0.05  # of the packs that leave the story quietly, those that come back for stationary storage
SECOND_LIFE_APPLICATION = "stationary energy storage"
EOL_REASONS = (
    "accident: total loss",
    "recall: cell defect",
    "warranty return: thermal event",
    "flood damage: water ingress",
)
# Compliance incidents (violations=True) come in rounds, so a longer run has proportionally more of them:
# the first pack of every INCIDENT_EVERY_PACKS made on a line is an end-of-line reject that leaves through
# the side door, and the first of every INCIDENT_EVERY_CONSIGNMENTS pack consignments goes to the domestic
# plant (early in the story) with an unlisted haulier, where its first pack is then installed twice.
INCIDENT_EVERY_PACKS = 50
INCIDENT_EVERY_CONSIGNMENTS = 15
DOMESTIC_PLANT = "CN-SH-ANTING-VEH"
REJECT_REASON = "end-of-line test failure: internal short circuit"


@dataclass(frozen=True)
class Unit:
    """A commissioned cell, module or pack."""

    code: str
    chemistry: str
    mass_kg: float
    energy_kwh: float


# --- mutable state --------------------------------------------------------------------------------------


@dataclass
class LineState:
    spec: LineSpec
    pools: dict[str, deque[Lot]] = field(default_factory=dict)  # open virgin lots by product
    recovered: dict[str, deque[Lot]] = field(default_factory=dict)  # delivered recovered lots by product
    finished: list[Unit] = field(default_factory=list)  # packs awaiting a consignment
    batch: int = 4
    packs_made: int = 0


@dataclass
class VehiclePlant:
    spec: VehiclePlantSpec
    site: Site
    spares: deque[Unit] = field(default_factory=deque)
    vins: int = 0


@dataclass
class Region:
    spec: RegionSpec
    black_mass: dict[str, list[Lot]] = field(default_factory=lambda: {NCM: [], LFP: []})


class Story:
    """One seeded run of the world; ``drafts()`` is the endless, causally ordered event stream."""

    def __init__(self, seed: int, violations: bool = False) -> None:
        """``violations`` adds the compliance incidents; without them no compliance check should fire."""
        self.rng = random.Random(seed)
        # Trip plans, parked fixes and transit incidents draw from their own stream: the rest of the story stays
        # the same draw for draw.
        self.transit_rng = random.Random(f"battrace-transit:{seed}")
        self.second_life_rng = random.Random(f"battrace-second-life:{seed}")  # so are second lives
        self._second_lives = itertools.count(1)
        self._licences: dict[str, dict[str, Any]] = {}  # party id -> its latest licence record
        self.violations = violations
        self._pack_consignments = itertools.count()
        self.now = START_MS
        self._heap: list[tuple[int, int, Process]] = []
        self._seq = itertools.count()
        self._serials: dict[str, tuple[date, int]] = {}
        self._lots = itertools.count(1)
        self._consignments = itertools.count(1)
        self._certificates = itertools.count(1)
        self.lines = {spec.chemistry: LineState(spec) for spec in LINES}
        self.plants = {sid: VehiclePlant(spec, SITES[sid]) for sid, spec in VEHICLE_PLANTS.items()}
        self.regions = {key: Region(spec) for key, spec in REGIONS.items()}

    # --- the clock ---------------------------------------------------------------------------------

    def drafts(self) -> Iterator[Draft]:
        self._spawn(self._registry())
        heap = self._heap
        while heap:
            t, _, proc = heapq.heappop(heap)
            self.now = t
            for item in proc:
                if isinstance(item, Draft):
                    yield item
                else:
                    heapq.heappush(heap, (t + round(item * 1000), next(self._seq), proc))
                    break

    def _spawn(self, proc: Process, delay_s: float = 0.0) -> None:
        heapq.heappush(self._heap, (self.now + round(delay_s * 1000), next(self._seq), proc))

    def _secs(self, lo: float, hi: float) -> float:
        return self.rng.uniform(lo, hi)

    def _hours(self, lo: float, hi: float) -> float:
        return self.rng.uniform(lo, hi) * HOUR_S

    def _days(self, lo: float, hi: float) -> float:
        return self.rng.uniform(lo, hi) * DAY_S

    # --- records -----------------------------------------------------------------------------------

    def _event_id(self, rng: random.Random | None = None) -> str:
        return str(uuid.UUID(int=(rng or self.rng).getrandbits(128), version=4))

    def _draft(
        self, topic: str, key: str, schema: str, record: dict[str, Any], rng: random.Random | None = None
    ) -> Draft:
        return Draft(topic, key, schema, record, self.now + (rng or self.rng).randint(20, 2500))

    def _mes(
        self, site: Site, line_id: str, kind: str, key: str, body: dict[str, Any], rng: random.Random | None = None
    ) -> Draft:
        record = {
            "event_id": self._event_id(rng),
            "event_time": self.now,
            "tz_offset": site_offset(site, self.now),
            "site_id": site.site_id,
            "line_id": line_id,
            "body": (f"battrace.mes.{kind}", body),
        }
        return self._draft(topics.MES.name, key, MES_EVENT, record, rng)

    def _logistics(
        self, consignment_id: str, tz: str, kind: str, body: dict[str, Any], rng: random.Random | None = None
    ) -> Draft:
        record = {
            "event_id": self._event_id(rng),
            "event_time": self.now,
            "tz_offset": tz,
            "consignment_id": consignment_id,
            "body": (f"battrace.logistics.{kind}", body),
        }
        return self._draft(topics.LOGISTICS.name, consignment_id, LOGISTICS_EVENT, record, rng)

    def _assay(
        self,
        lot: Lot,
        lab_id: str,
        sample_site: Site,
        supplier: Supplier | None,
        origin_country: str,
        post_consumer: float = 0.0,
        pre_consumer: float | None = None,
    ) -> Draft:
        rng, product, lab = self.rng, PRODUCTS[lot.product], PARTIES[lab_id]
        fractions = [(e, f * (1 + rng.gauss(0, 0.015))) for e, f in product.fractions]
        total = sum(f for _, f in fractions)
        scale = min(1.0, 0.999 / total)
        sampled = self.now - round(self._hours(6, 96) * 1000)
        mines = supplier.mines if supplier else ()
        record = {
            "event_id": self._event_id(),
            "event_time": self.now,
            "tz_offset": site_offset(SITES[lab.site_id], self.now),
            "lot_id": lot.lot_id,
            "product": product.name,
            "lot_mass_kg": round(lot.mass_kg, 3),
            "lab_id": lab_id,
            "accreditation": lab.licence,
            "certificate_ref": f"{CERT_PREFIX[lab_id]}-{_utc(self.now).year}-{next(self._certificates):06d}",
            "sampled_at": sampled,
            "sample_lat": round(sample_site.lat + rng.uniform(-0.002, 0.002), 5),
            "sample_lon": round(sample_site.lon + rng.uniform(-0.002, 0.002), 5),
            "fractions": [{"element": e, "fraction": round(f * scale, 4)} for e, f in fractions],
            "smelter_id": supplier.smelter_id if supplier else None,
            "mine_licences": sorted(rng.sample(mines, rng.randint(1, len(mines)))) if mines else [],
            "origin_country": origin_country,
            "refining_kgco2e_per_kg": round(rng.uniform(*product.intensity), 2) if product.intensity else None,
            "recycled_pre_consumer": self._pre_consumer(supplier) if pre_consumer is None else pre_consumer,
            "recycled_post_consumer": post_consumer,
        }
        return self._draft(topics.ASSAY.name, lot.lot_id, ASSAY_RESULT, record)

    def _pre_consumer(self, supplier: Supplier | None) -> float:
        """A few virgin lots carry manufacturing scrap; recovered lots are all post-consumer."""
        return round(self.rng.uniform(0.02, 0.08), 3) if supplier and self.rng.random() < 0.15 else 0.0

    def _new_lot(self, product: str, mass_kg: float) -> Lot:
        return Lot(f"{PRODUCTS[product].gtin}.LOT-{next(self._lots):06d}", product, round(mass_kg, 3))

    def _code(self, line: LineSpec, product: str, spec: str, trace: str) -> str:
        """A fresh GB/T 34014 code: serials restart every local production day, per manufacturer."""
        site = line.site
        local_day = _utc(self.now + site.utc_offset_h * 3_600_000).date()
        day, n = self._serials.get(line.mfr_code, (local_day, 0))
        n = n + 1 if day == local_day else 1
        self._serials[line.mfr_code] = (local_day, n)
        return battery_code(line.mfr_code, product, line.battery_type, spec, trace, date_code(local_day), n)

    # --- processes ---------------------------------------------------------------------------------

    def _registry(self) -> Process:
        """The register of licensed parties comes first (everything refers to it), then renewals before expiry."""
        rng = self.rng
        expiry: dict[str, int] = {}
        for party in PARTIES.values():
            lapsed = LAPSED.get(party.entity_id)
            issued = lapsed or datetime(rng.choice((2023, 2024, 2025)), rng.randint(1, 12), 1, tzinfo=UTC)
            valid_from = int(issued.timestamp() * 1000)
            if lapsed is None:  # a lapsed licence is not renewed
                expiry[party.entity_id] = valid_from + LICENCE_MS
            yield self._licence(party, valid_from)
            yield self._secs(2, 20)
        for i, line in enumerate(self.lines.values()):
            self._spawn(self._line(line), 60.0 * (i + 1))
        for region in self.regions.values():
            self._spawn(self._recycler(region), DAY_S)
        while True:
            yield self._days(20, 40)
            for entity_id, valid_to in expiry.items():
                if valid_to - self.now < RENEW_AHEAD_MS:
                    expiry[entity_id] = self.now + LICENCE_MS
                    yield self._licence(PARTIES[entity_id], self.now)
                    yield self._secs(2, 20)

    def _licence(self, party: Party, valid_from: int) -> Draft:
        record = {
            "event_id": self._event_id(),
            "event_time": self.now,
            "entity_id": party.entity_id,
            "name": party.name,
            "role": party.role,
            "licence_number": party.licence,
            "valid_from": valid_from,
            "valid_to": valid_from + LICENCE_MS,
            "region": party.region,
            "revoked": False,
        }
        self._licences[party.entity_id] = record
        return self._draft(topics.REGISTRY.name, party.entity_id, LICENSED_ENTITY, record)

    def _trip_plan(self, carrier: Party, cid: str, stops: tuple[str, ...]) -> Draft:
        """The carrier's registry record republished with the zones it froze for the trip (corridor, sites, hubs)."""
        sites: dict[str, tuple[str, int, int]] = {}
        for party in PARTIES.values():  # a site's licence is its operator's (a transporter's only where none else)
            held = self._licences.get(party.entity_id)
            if held and (party.site_id not in sites or party.role != "TRANSPORTER"):
                sites[party.site_id] = (held["licence_number"], held["valid_from"], held["valid_to"])
        record = {
            **self._licences[carrier.entity_id],
            "event_id": self._event_id(self.transit_rng),
            "event_time": self.now,
            "zones": zones.trip_zones(cid, route(*stops), sites, START_MS - int(DAY_S * 1000)),
        }
        return self._draft(topics.REGISTRY.name, carrier.entity_id, LICENSED_ENTITY, record, self.transit_rng)

    def _line(self, line: LineState) -> Process:
        """One cell-to-pack line: cells from lots, modules from cells, packs from modules, then shipping."""
        spec, rng = line.spec, self.rng
        while True:
            pack_spec = rng.choice(spec.packs)
            line.packs_made += 1
            trace = spec.line_no + base36(line.packs_made, 6)
            modules = []
            for _ in range(pack_spec.modules):
                cells = []
                for _ in range(pack_spec.cells_per_module):
                    cells.append((yield from self._cell(line, trace)))
                design = module_design(spec.cell, spec.mfr_code, len(cells))
                modules.append((yield from self._assemble(line, design, cells, trace)))
            pack = yield from self._assemble(line, pack_spec.design, modules, trace)
            if self.violations and line.packs_made % INCIDENT_EVERY_PACKS == 1:
                self._spawn(self._reject(pack), self._hours(1, 4))
                continue
            line.finished.append(pack)
            if len(line.finished) >= line.batch:
                self._spawn(self._consign_packs(line.spec, line.finished), self._hours(1, 6))
                line.finished, line.batch = [], rng.randint(4, 8)

    def _gap(self) -> float:
        """Time between two steps on a line: the pace that sets the simulated clock."""
        return self._secs(60, 900)

    def _cell(self, line: LineState, trace: str) -> Generator[Draft | float, None, Unit]:
        spec, rng = line.spec, self.rng
        cell, site = spec.cell, spec.site
        code = self._code(spec, "C", cell.spec, trace)
        mass = round(cell.mass_kg * (1 + rng.gauss(0, 0.004)), 3)
        yield self._mes(
            site,
            f"CELL-L{spec.line_no}",
            "Commissioned",
            code,
            {
                "battery_id": code,
                "sgtin": None,
                "chemistry": spec.chemistry,
                "model": cell.model,
                "capacity_ah": cell.capacity_ah,
                "energy_kwh": cell.energy_kwh,
                "mass_kg": mass,
                "certification_number": cell.certification,
            },
        )
        yield self._gap()
        inputs = yield from self._draw(line, spec.cathode, cell.cathode_kg * (1 + rng.gauss(0, 0.01)))
        inputs += yield from self._draw(line, "graphite", cell.anode_kg * (1 + rng.gauss(0, 0.01)))
        for product in sorted(line.recovered):
            inputs += self._take(line.recovered[product], RECOVERED_KG_PER_CELL)
        yield self._mes(site, f"CELL-L{spec.line_no}", "MaterialConsumed", code, {"battery_id": code, "inputs": inputs})
        for step, lo, hi in CELL_STEPS:
            yield self._gap()
            yield self._energy(spec, f"CELL-L{spec.line_no}", code, step, cell.energy_kwh * rng.uniform(lo, hi))
        yield self._gap()
        return Unit(code, spec.chemistry, mass, cell.energy_kwh)

    def _energy(self, spec: LineSpec, line_id: str, code: str, step: str, kwh: float) -> Draft:
        return self._mes(
            spec.site,
            line_id,
            "EnergyUsed",
            code,
            {
                "battery_id": code,
                "step": step,
                "energy_kwh": round(kwh, 3),
                "grid_factor_kg_per_kwh": spec.grid_kg_per_kwh,
            },
        )

    def _assemble(
        self, line: LineState, design: Design, children: list[Unit], trace: str
    ) -> Generator[Draft | float, None, Unit]:
        spec = line.spec
        line_id = f"{'MOD' if design.product == 'M' else 'PACK'}-L{spec.line_no}"
        code = self._code(spec, design.product, design.spec, trace)
        mass = round(sum(c.mass_kg for c in children) + design.extra_kg, 3)
        energy = round(sum(c.energy_kwh for c in children), 3)
        yield self._mes(
            spec.site,
            line_id,
            "Commissioned",
            code,
            {
                "battery_id": code,
                "sgtin": f"https://id.gs1.org/01/{design.gtin}/21/{code[14:]}" if design.gtin else None,
                "chemistry": spec.chemistry,
                "model": design.model,
                "capacity_ah": spec.cell.capacity_ah,
                "energy_kwh": energy,
                "mass_kg": mass,
                "certification_number": design.certification,
            },
        )
        yield self._gap()
        yield self._mes(
            spec.site, line_id, "Assembled", code, {"parent_id": code, "child_ids": [c.code for c in children]}
        )
        yield self._gap()
        yield self._energy(spec, line_id, code, design.step, design.kwh * self.rng.uniform(0.9, 1.1))
        yield self._gap()
        return Unit(code, spec.chemistry, mass, energy)

    def _draw(self, line: LineState, product: str, kg: float) -> Generator[Draft | float, None, list[dict[str, Any]]]:
        """Virgin material for one cell; opening a new lot publishes its assay first."""
        pool = line.pools.setdefault(product, deque())
        if not pool or pool[0].remaining_kg < kg + MIN_LOT_REST_KG:
            while len(pool) < 2:  # keep the next lot assayed before the current one runs out
                pool.append((yield from self._virgin_lot(product)))
        return self._take(pool, kg)

    def _take(self, pool: deque[Lot], kg: float) -> list[dict[str, Any]]:
        taken: list[dict[str, Any]] = []
        while kg >= 0.001 and pool:
            lot = pool[0]
            take = lot.remaining_kg if lot.remaining_kg - kg < MIN_LOT_REST_KG else kg
            lot.remaining_kg -= take
            kg -= take
            taken.append({"lot_id": lot.lot_id, "mass_kg": round(take, 3)})
            if lot.remaining_kg < MIN_LOT_REST_KG:
                pool.popleft()
        return taken

    def _virgin_lot(self, product: str) -> Generator[Draft | float, None, Lot]:
        p = PRODUCTS[product]
        supplier = self.rng.choice(p.suppliers)
        lot = self._new_lot(product, self.rng.uniform(*p.lot_kg))
        yield self._assay(lot, "CN-LAB-001", SITES[supplier.site_id], supplier, supplier.origin_country)
        yield self._secs(30, 300)
        return lot

    def _consign_packs(self, line: LineSpec, packs: list[Unit]) -> Process:
        incident = self.violations and next(self._pack_consignments) % INCIDENT_EVERY_CONSIGNMENTS == 0
        if incident:  # domestic, so the double installation comes early in the story
            chosen = next(stops for _, stops in line.routes if stops[-1] == DOMESTIC_PLANT)
        else:
            weights, stops = zip(*line.routes, strict=True)
            chosen = self.rng.choices(stops, weights)[0]
        plant = self.plants[chosen[-1]]
        mass = sum(p.mass_kg for p in packs) + 22.0 * len(packs) + 25.0 * ((len(packs) + 1) // 2)  # crates, pallets
        deliver = partial(self._receive_packs, plant, packs, incident)
        yield from self._ship(
            chosen, [p.code for p in packs], [], mass, deliver, UNLISTED_HAULIER if incident else None
        )

    def _ship(
        self,
        stops: tuple[str, ...],
        battery_ids: list[str],
        lot_ids: list[str],
        mass_kg: float,
        on_delivery: Callable[[], None],
        carrier: Party | None = None,
    ) -> Process:
        """A consignment end to end: created (declaring its legs), departed, GPS fixes per leg, hub geofences,
        arrived, delivered.

        ``carrier`` overrides the usual transporter for the mode; one on no registry is flagged ``unlisted``."""
        rng, r = self.rng, route(*stops)
        origin, dest = r.origin, r.destination
        number = next(self._consignments)
        cid = f"CONS-{number:06d}"
        carrier = carrier or transporter(origin.site_id[:2], r.main_mode)
        listed = carrier.entity_id in PARTIES
        incident = transit_incidents.choose(number, r) if self.violations and listed else None
        if listed:  # a haulier on no registry publishes no trip plan: its trips have no zones to check
            yield self._trip_plan(carrier, cid, stops)
        created = self._logistics(
            cid,
            site_offset(origin, self.now),
            "ConsignmentCreated",
            {
                "battery_ids": battery_ids,
                "lot_ids": lot_ids,
                "gross_mass_kg": round(mass_kg, 1),
                "mode": r.main_mode,
                "transporter_id": carrier.entity_id,
                "transporter_licence": carrier.licence,
                "origin_site": origin.site_id,
                "destination_site": dest.site_id,
                "legs": [
                    {"mode": leg.mode, "to_site": leg.end.site_id, "to_geofence_id": leg.end.geofence_id}
                    for leg in r.legs
                ],
            },
        )
        yield created._replace(flags=() if listed else ("unlisted",))
        yield self._hours(1, 8)
        yield self._logistics(cid, site_offset(origin, self.now), "Departed", _at(origin))
        for i, leg in enumerate(r.legs):
            speed = SPEED_KMH[leg.mode] * rng.uniform(0.85, 1.1)
            fixes = leg.fixes(speed)
            track = transit_incidents.Track(incident, i, leg, fixes)
            for j, (dt_h, point) in enumerate(fixes):
                yield dt_h * HOUR_S
                lat, lon = track.position(j, (point[0] + rng.gauss(0, 0.001), point[1] + rng.gauss(0, 0.001)))
                yield self._position(cid, lat, lon)._replace(transit=track.flags_at(j))
                yield from self._stopped(cid, lat, lon, track.stop_after(j), FIX_EVERY_H[leg.mode])
            covered = sum(dt for dt, _ in fixes) * speed
            yield max(0.0, leg.length_km - covered) / speed * HOUR_S
            if leg.end is not dest:
                hub = leg.end
                yield self._position(cid, hub.lat, hub.lon, "ENTER", hub)
                transshipment = r.legs[i + 1].mode != leg.mode
                stay_s = self._hours(24, 72) if transshipment else self._hours(6, 20)
                yield from self._parked(cid, hub, stay_s + track.extra_stay_s(), track.dwell_limit_s())
                exit_lat, exit_lon = zones.hub_exit(r.legs[i + 1])
                yield self._position(cid, exit_lat, exit_lon, "EXIT", hub)
        handed_over = transit_incidents.handover_point(incident, r)
        at_dest = _at(dest) if handed_over is None else {"site_id": dest.site_id, "lat": handed_over[0],
                                                         "lon": handed_over[1]}  # fmt: skip
        yield self._logistics(cid, site_offset(dest, self.now), "Arrived", at_dest)
        yield self._hours(0.5, 6)
        receiver = next(p for p in PARTIES.values() if p.site_id == dest.site_id and p.role == "MANUFACTURER")
        delivered = self._logistics(
            cid, site_offset(dest, self.now), "Delivered", {**at_dest, "receiver_id": receiver.entity_id}
        )
        yield delivered._replace(transit=() if handed_over is None else (transit_incidents.HANDOVER,))
        on_delivery()

    def _stopped(self, cid: str, lat: float, lon: float, hours: float, every_h: float) -> Process:
        """A vehicle standing still for ``hours``, reporting where it stands; the first fix an hour or more after
        it stopped must raise ``unplanned_stop`` (transit_incidents.STOP)."""
        waited, flagged = 0.0, False
        while waited + every_h <= hours + 1e-9:
            yield every_h * HOUR_S
            waited += every_h
            due = not flagged and waited * HOUR_S >= transit_incidents.STOP_ALERT_S
            flagged = flagged or due
            fix = self._position(cid, lat, lon, rng=self.transit_rng)
            yield fix._replace(transit=(transit_incidents.STOP,) if due else ())

    def _parked(self, cid: str, hub: Site, stay_s: float, dwell_limit_s: float | None) -> Process:
        """A stay at a hub, with the tracker's parked reports every ``PARKED_EVERY_H`` at most; with a dwell limit,
        the first report beyond it must raise ``dwell_exceeded``."""
        n = max(1, int(stay_s // (transit_incidents.PARKED_EVERY_H * HOUR_S)))
        step, flagged = stay_s / (n + 1), False
        for k in range(1, n + 1):
            yield step
            due = dwell_limit_s is not None and not flagged and k * step > dwell_limit_s
            flagged = flagged or due
            fix = self._position(cid, hub.lat, hub.lon, hub=hub, rng=self.transit_rng)
            yield fix._replace(transit=(transit_incidents.DWELL,) if due else ())
        yield step

    def _position(
        self,
        cid: str,
        lat: float,
        lon: float,
        transition: str = "NONE",
        hub: Site | None = None,
        rng: random.Random | None = None,
    ) -> Draft:
        tz = site_offset(hub, self.now) if hub else nautical_offset(lon)
        return self._logistics(
            cid,
            tz,
            "Position",
            {
                "lat": round(lat, 5),
                "lon": round(lon, 5),
                "geofence": transition,
                "geofence_id": hub.geofence_id if hub and transition != "NONE" else None,
            },
            rng,
        )

    def _receive_packs(self, plant: VehiclePlant, packs: list[Unit], mis_scan: bool = False) -> None:
        """Packs go into vehicles or the spares stock; with ``mis_scan`` the first one is installed twice."""
        for i, pack in enumerate(packs):
            if mis_scan and i == 0:
                self._spawn(self._vehicle_life(plant, pack, mis_scan=True), self._hours(1, 6))
            elif len(plant.spares) < SPARES_PER_PLANT and self.rng.random() < 0.3:
                plant.spares.append(pack)  # kept for service replacements
            else:
                self._spawn(self._vehicle_life(plant, pack), self._days(0.2, 3))

    def _receive_lots(self, chemistry: str, lots: list[Lot]) -> None:
        line = self.lines[chemistry]
        for lot in lots:
            line.recovered.setdefault(lot.product, deque()).append(lot)

    def _vehicle_life(self, plant: VehiclePlant, pack: Unit, mis_scan: bool = False) -> Process:
        """Installed in a vehicle; most packs then leave the story, some come back for service or end of life.

        With ``mis_scan`` the next vehicle on the line is booked with this pack's code too (its label scanned
        twice): a second installation of a pack that never left the first vehicle."""
        rng, spec = self.rng, plant.spec
        region = self.regions[spec.region]
        integration = self._new_vehicle(plant)
        yield self._mes(plant.site, "GA-1", "VehicleIntegrated", pack.code, {"battery_id": pack.code, **integration})
        if mis_scan:
            yield self._hours(0.5, 4)
            again = self._mes(
                plant.site,
                "GA-1",
                "VehicleIntegrated",
                pack.code,
                {"battery_id": pack.code, **self._new_vehicle(plant)},
            )
            yield again._replace(flags=("already_installed",))
            return
        fate = rng.random()
        if fate < FATE_QUIET:
            if self.second_life_rng.random() < SECOND_LIFE_SHARE:
                self._spawn(self._second_life(region, pack), self.second_life_rng.uniform(3, 20) * DAY_S)
            return
        yield self._days(2, 25)
        service = SITES[region.spec.service_site]
        if fate < FATE_SERVICE or (fate < FATE_REPLACE and not plant.spares):
            action = rng.choice(("INSPECTED", "REPAIRED", "REFURBISHED"))
            yield self._mes(
                service,
                "BAY-2",
                "Serviced",
                pack.code,
                {
                    "battery_id": pack.code,
                    "action": action,
                    "replacement_id": None,
                    "state_of_health": round(rng.uniform(0.90, 0.99), 3),
                },
            )
            return
        if fate < FATE_REPLACE:
            spare = plant.spares.popleft()
            yield self._mes(
                service,
                "BAY-2",
                "Serviced",
                pack.code,
                {
                    "battery_id": pack.code,
                    "action": "REPLACED",
                    "replacement_id": spare.code,
                    "state_of_health": round(rng.uniform(0.55, 0.75), 3),
                },
            )
            yield self._secs(1800, 10800)
            yield self._mes(
                service, "BAY-2", "VehicleIntegrated", spare.code, {"battery_id": spare.code, **integration}
            )
            reason = "replaced after service: capacity fade"
        else:
            reason = rng.choice(EOL_REASONS)
        yield from self._end_of_life(region, pack, reason, integration["vin"])

    def _new_vehicle(self, plant: VehiclePlant) -> dict[str, str]:
        """The next vehicle off the plant's line: VIN, model and category."""
        spec = plant.spec
        model, vds, category = self.rng.choice(spec.models)
        plant.vins += 1
        v = vin(spec.wmi, vds, _utc(self.now).year, spec.plant_char, plant.vins)
        return {"vin": v, "vehicle_model": model, "vehicle_category": category}

    def _second_life(self, region: Region, pack: Unit) -> Process:
        """Taken back by the region's repurposer, re-coded and put into stationary storage: one Repurposed event, drawn
        from its own random stream so the rest of the story stays the same draw for draw."""
        rng, n = self.second_life_rng, next(self._second_lives)
        repurposer = PARTIES[region.spec.repurposer]
        site = SITES[repurposer.site_id]
        local_day = _utc(self.now + site.utc_offset_h * 3_600_000).date()
        new_code = f"{pack.code[:7]}SL{base36(n, 5)}{date_code(local_day)}{n:07d}"  # same maker, type and spec
        body = {
            "battery_id": pack.code,
            "new_battery_id": new_code,
            "repurposer_id": repurposer.entity_id,
            "application": SECOND_LIFE_APPLICATION,
            "state_of_health": round(rng.uniform(0.70, 0.85), 3),
        }
        yield self._mes(site, "ESS-1", "Repurposed", pack.code, body, rng)

    def _end_of_life(self, region: Region, pack: Unit, reason: str, vin: str | None = None) -> Process:
        """Collected by a licensed collector, dismantled into an assayed black-mass lot, queued for recycling; the
        collection and the dismantling name the vehicle the pack came from and the collection its transporter."""
        spec = region.spec
        collector, dismantler = PARTIES[spec.collector], PARTIES[spec.dismantler]
        yield self._days(0.5, 3)
        yield self._mes(
            SITES[collector.site_id],
            "INTAKE",
            "EndOfLifeCollected",
            pack.code,
            {
                "battery_id": pack.code,
                "collector_id": collector.entity_id,
                "reason": reason,
                "vin": vin,
                "transporter_licence": transporter(spec.country, "ROAD").licence,
            },
        )
        yield self._days(1, 4)
        black = yield from self._dismantle(pack, dismantler, spec, (0.5, 2.0), vin=vin)
        region.black_mass[pack.chemistry].append(black)

    def _dismantle(
        self,
        pack: Unit,
        dismantler: Party,
        spec: RegionSpec,
        assay_after_days: tuple[float, float],
        reject: bool = False,
        flags: tuple[str, ...] = (),
        vin: str | None = None,
    ) -> Generator[Draft | float, None, Lot]:
        """Dismantled into a black-mass lot, assayed by the region's lab; a reject's is manufacturing scrap."""
        black = self._new_lot(BLACK_MASS[pack.chemistry], pack.mass_kg * self.rng.uniform(0.36, 0.42))
        site = SITES[dismantler.site_id]
        dismantled = self._mes(
            site,
            "DIS-1",
            "Dismantled",
            pack.code,
            {
                "battery_id": pack.code,
                "dismantler_id": dismantler.entity_id,
                "output_lot_id": black.lot_id,
                "output_mass_kg": black.mass_kg,
                "vin": vin,
            },
        )
        yield dismantled._replace(flags=flags)
        yield self._days(*assay_after_days)
        shares = {"post_consumer": 0.0, "pre_consumer": 1.0} if reject else {"post_consumer": 1.0}
        yield self._assay(black, spec.lab, site, None, spec.country, **shares)
        return black

    # --- compliance incidents (violations=True) -------------------------------------------------------

    def _reject(self, pack: Unit) -> Process:
        """An end-of-line reject leaves through the side door; which one depends on the line."""
        if pack.chemistry == NCM:
            yield from self._scrapped_uncollected(pack)
        else:
            yield from self._scrapped_by_lapsed(pack)

    def _scrapped_uncollected(self, pack: Unit) -> Process:
        """Sent from the plant straight to the dismantler, no collection recorded: a pack dismantled without
        ever being collected. The dismantler is licensed; its black mass is held there, never refined."""
        spec = self.regions["CN"].spec
        yield self._hours(2, 12)
        yield from self._dismantle(
            pack, PARTIES[spec.dismantler], spec, (0.2, 0.6), reject=True, flags=("recycled_without_collection",)
        )

    def _scrapped_by_lapsed(self, pack: Unit) -> Process:
        """Collected properly, then sold to a dismantler whose licence has lapsed (a custody gap that makes the
        black mass, and every lot recovered from it, ineligible); the black mass goes into a toll batch, and the
        scrapped pack's code later turns up at a service bay (a re-used label): an event after destruction."""
        region = self.regions["CN"]
        spec, collector = region.spec, PARTIES[region.spec.collector]
        yield self._hours(2, 12)
        yield self._mes(
            SITES[collector.site_id],
            "INTAKE",
            "EndOfLifeCollected",
            pack.code,
            {"battery_id": pack.code, "collector_id": collector.entity_id, "reason": REJECT_REASON},
        )
        yield self._days(0.5, 1.5)
        lapsed = PARTIES[LAPSED_DISMANTLER]
        black = yield from self._dismantle(pack, lapsed, spec, (0.2, 0.6), reject=True, flags=("expired",))
        self._spawn(self._toll_batch(region, pack.chemistry, black), self._days(0.3, 1))
        yield self._days(0.5, 1.5)
        serviced = self._mes(
            SITES[spec.service_site],
            "BAY-2",
            "Serviced",
            pack.code,
            {
                "battery_id": pack.code,
                "action": "INSPECTED",
                "replacement_id": None,
                "state_of_health": round(self.rng.uniform(0.80, 0.95), 3),
            },
        )
        yield serviced._replace(flags=("event_after_destruction",))

    def _toll_batch(self, region: Region, chemistry: str, black: Lot) -> Process:
        """The recycler refines the lapsed dismantler's black mass on its own, topped up with undeclared
        pre-2026 stock: the recovered lots outweigh the declared input."""
        undeclared = black.mass_kg * self.rng.uniform(1.0, 1.5)
        yield from self._refine(region, chemistry, [black], undeclared, ("outputs_exceed_inputs",))

    def _recycler(self, region: Region) -> Process:
        """Every few days, refine queued black mass into recovered lots, assay them, ship them to the cell plant."""
        while True:
            yield self._days(1, 3)
            for chemistry, queue in region.black_mass.items():
                if not queue:
                    continue
                batch, queue[:] = queue[:6], queue[6:]
                yield from self._refine(region, chemistry, batch)

    def _refine(
        self, region: Region, chemistry: str, batch: list[Lot], undeclared_kg: float = 0.0, flags: tuple[str, ...] = ()
    ) -> Process:
        """One recycling batch: recovered lots by element and recovery rate from everything fed in (declared
        inputs plus ``undeclared_kg``), assayed, then shipped back to the cell plant."""
        spec = region.spec
        recycler = PARTIES[spec.recycler]
        site = SITES[recycler.site_id]
        feed_kg = sum(b.mass_kg for b in batch) + undeclared_kg
        outputs = [
            self._new_lot(
                product, feed_kg * PRODUCTS[BLACK_MASS[chemistry]].fraction(el) * rate / PRODUCTS[product].fraction(el)
            )
            for product, el, rate in RECOVERY[chemistry]
        ]
        recycled = self._mes(
            site,
            "HYDRO-1",
            "Recycled",
            batch[0].lot_id,
            {
                "recycler_id": recycler.entity_id,
                "inputs": [{"lot_id": b.lot_id, "mass_kg": b.mass_kg} for b in batch],
                "outputs": [{"lot_id": o.lot_id, "mass_kg": o.mass_kg} for o in outputs],
            },
        )
        yield recycled._replace(flags=flags)
        for lot in outputs:
            yield self._hours(4, 30)
            yield self._assay(lot, spec.lab, site, None, spec.country, post_consumer=1.0)
        mass = sum(o.mass_kg for o in outputs) + 8.0 * len(outputs)  # big bags
        ship = self._ship(
            spec.returns[chemistry],
            [],
            [o.lot_id for o in outputs],
            mass,
            partial(self._receive_lots, chemistry, outputs),
        )
        self._spawn(ship, self._hours(2, 24))


def _utc(t_ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=t_ms)


def _at(site: Site) -> dict[str, Any]:
    return {"site_id": site.site_id, "lat": site.lat, "lon": site.lon}
