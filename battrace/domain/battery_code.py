"""GB/T 34014-2017 battery codes (24 characters): syntax, segments, production date, GS1 alias.

The syntax is the Catena-X traction battery code model's. The production date is stored raw and decoded
only through a ``DateTable`` read from a data file, because the standard's year and day tables are
unconfirmed: a better table must be a file swap, not a code change.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

SEGMENTS: tuple[tuple[str, int, str], ...] = (
    ("manufacturer", 3, "[A-Z0-9]{3}"),
    ("product_type", 1, "[PMC]"),
    ("battery_type", 1, "[A-GZ]"),
    ("specification", 2, "[A-Z0-9]{2}"),
    ("traceability", 7, "[A-Z0-9]{7}"),
    ("year", 1, "[1-9A-GH-NPR-Y]"),
    ("month", 1, "[1-9A-C]"),
    ("day", 1, "[0-9A-GH-NPR-Y]"),
    ("serial", 7, "[0-9]{7}"),
)
PATTERN = re.compile("".join(f"({rx})" for _, _, rx in SEGMENTS))
LENGTH = 24
PRODUCT_TYPES = {"C": "cell", "M": "module", "P": "pack"}
CHEMISTRIES = {"B": "LFP", "E": "NCM"}  # the only confirmed battery-type letters
UNCONFIRMED = "unconfirmed"
DATE_TABLE = "data/gbt34014_dates.json"  # inside the battrace.domain package
_ALPHABET = string.digits + string.ascii_uppercase


def _members(rx: str) -> frozenset[str]:
    """Characters of a segment's class, e.g. ``[1-9A-C]{1}`` -> {1..9, A, B, C}."""
    body = rx[1 : rx.index("]")]
    chars: set[str] = set()
    for lo, hi in re.findall(r"(.)(?:-(.))?", body):
        chars.update(_ALPHABET[_ALPHABET.index(lo) : _ALPHABET.index(hi or lo) + 1])
    return frozenset(chars)


def _describe(chars: frozenset[str]) -> str:
    """Readable runs, digits and letters apart: ``1-9, A-N, P, R-Y``."""
    runs: list[str] = []
    for group in (string.digits, string.ascii_uppercase):
        run = ""
        for ch in group + " ":
            if ch in chars:
                run += ch
                continue
            if run:
                runs.append(run if len(run) == 1 else f"{run[0]}-{run[-1]}")
            run = ""
    return ", ".join(runs)


@dataclass(frozen=True)
class _Segment:
    name: str
    start: int  # 0-based
    width: int
    allowed: frozenset[str]

    @property
    def described(self) -> str:
        return _describe(self.allowed)


def _layout() -> tuple[_Segment, ...]:
    out, start = [], 0
    for name, width, rx in SEGMENTS:
        out.append(_Segment(name, start, width, _members(rx)))
        start += width
    return tuple(out)


LAYOUT = _layout()
_BY_NAME = {s.name: s for s in LAYOUT}


class BatteryCodeError(ValueError):
    """Why a string is not a GB/T 34014 code: 1-based ``position``, ``segment`` and a ``reason`` code."""

    def __init__(self, code: str, position: int, segment: str, reason: str, message: str, allowed: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.position = position
        self.segment = segment
        self.reason = reason  # "length" or "character_class"
        self.allowed = allowed
        self.message = message

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "valid": False,
            "position": self.position,
            "segment": self.segment,
            "reason": self.reason,
            "message": self.message,
        }


_DATE_RANGES = {"year": (1900, 2199), "month": (1, 12), "day": (1, 31)}


class DateTableError(ValueError):
    """A date table file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True, eq=False)
class DateTable:
    """Character -> year / month / day for positions 15-17; characters it lacks decode to no date."""

    year: MappingProxyType[str, int]
    month: MappingProxyType[str, int]
    day: MappingProxyType[str, int]
    source: str = "builtin"
    note: str = ""
    confirmed: bool = False  # true only for a table checked against the standard's text

    @classmethod
    def from_mapping(cls, data: Any, source: str = "builtin") -> DateTable:
        """Checked: every key one character of its position's class, values in range and distinct."""
        if not isinstance(data, dict):
            raise DateTableError(f"{source}: a date table is a JSON object with year, month and day maps")
        tables: dict[str, MappingProxyType[str, int]] = {}
        for part, (low, high) in _DATE_RANGES.items():
            entries = data.get(part)
            if not isinstance(entries, dict) or not entries:
                raise DateTableError(f"{source}: {part!r} must be a non-empty object of character -> number")
            allowed = _BY_NAME[part].allowed
            for ch, value in entries.items():
                if ch not in allowed:
                    raise DateTableError(
                        f"{source}: {part} key {ch!r} is not a valid {part} character ({_describe(allowed)})"
                    )
                if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                    raise DateTableError(f"{source}: {part} {ch!r} -> {value!r} must be an integer {low}..{high}")
            if len(set(entries.values())) != len(entries):
                raise DateTableError(f"{source}: two {part} characters map to the same value")
            tables[part] = MappingProxyType(dict(entries))
        confirmed = data.get("confirmed", False) is True
        return cls(tables["year"], tables["month"], tables["day"], source, str(data.get("note", "")), confirmed)

    @classmethod
    def load(cls, path: str | Path | None = None) -> DateTable:
        """The table in ``path`` (e.g. from BATTRACE_DATE_TABLE), or the packaged default when None."""
        if path is None:
            return default_dates()
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DateTableError(f"{path}: cannot read a date table: {exc}") from None
        return cls.from_mapping(data, str(path))

    def decode(self, date_code: str) -> date | None:
        """The production date, or None when a character is not in the table or the day does not exist."""
        if len(date_code) != 3:
            return None
        y, m, d = self.year.get(date_code[0]), self.month.get(date_code[1]), self.day.get(date_code[2])
        if y is None or m is None or d is None:
            return None
        try:
            return date(y, m, d)
        except ValueError:  # e.g. 30 February
            return None


@cache
def default_dates() -> DateTable:
    """The packaged table (unconfirmed, see its note), read once."""
    text = resources.files("battrace.domain").joinpath(DATE_TABLE).read_text(encoding="utf-8")
    return DateTable.from_mapping(json.loads(text), f"processors/{DATE_TABLE}")


@dataclass(frozen=True)
class BatteryCode:
    """A parsed code: the raw segments plus what they mean where that is known."""

    code: str
    manufacturer: str
    product_type: str  # cell, module or pack
    battery_type: str  # the letter at position 5
    chemistry: str  # LFP, NCM or "unconfirmed"
    specification: str
    traceability: str
    date_code: str  # raw positions 15-17, always kept
    serial: str
    production_date: date | None  # None when the date table cannot decode date_code

    @property
    def segments(self) -> dict[str, str]:
        return {s.name: self.code[s.start : s.start + s.width] for s in LAYOUT}

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "valid": True,
            "segments": self.segments,
            "product_type": self.product_type,
            "chemistry": self.chemistry,
            "date_code": self.date_code,
            "production_date": self.production_date.isoformat() if self.production_date else None,
        }


def _segment_at(index: int) -> _Segment:
    return next(s for s in LAYOUT if s.start <= index < s.start + s.width)


def _problem(code: str) -> BatteryCodeError | None:
    """The first thing wrong: length first (a shifted code would report misleading positions), then characters."""
    if len(code) != LENGTH:
        short = len(code) < LENGTH
        position = len(code) + 1 if short else LENGTH + 1
        segment = _segment_at(len(code)) if short else LAYOUT[-1]
        where = f"position {position} ({segment.name}): missing" if short else f"position {position}: extra character"
        message = f"{where}; the code must be {LENGTH} characters, got {len(code)}"
        return BatteryCodeError(code, position, segment.name, "length", message)
    for seg in LAYOUT:
        for i in range(seg.start, seg.start + seg.width):
            ch = code[i]
            if ch not in seg.allowed:
                hint = " (upper case expected)" if ch.upper() in seg.allowed else ""
                message = f"position {i + 1} ({seg.name}): {ch!r} not allowed{hint}; expected one of {seg.described}"
                return BatteryCodeError(code, i + 1, seg.name, "character_class", message, seg.described)
    return None


def code_error(code: str) -> str | None:
    """None for a well-formed code, else what is wrong and at which (1-based) position."""
    if len(code) == LENGTH and PATTERN.fullmatch(code):
        return None
    problem = _problem(code)
    return problem.message if problem else None


def parse(code: str, dates: DateTable | None = None) -> BatteryCode:
    """Decode a code; raises BatteryCodeError naming the first wrong position."""
    problem = _problem(code)
    if problem:
        raise problem
    s = {seg.name: code[seg.start : seg.start + seg.width] for seg in LAYOUT}
    date_code = s["year"] + s["month"] + s["day"]
    return BatteryCode(
        code=code,
        manufacturer=s["manufacturer"],
        product_type=PRODUCT_TYPES[s["product_type"]],
        battery_type=s["battery_type"],
        chemistry=CHEMISTRIES.get(s["battery_type"], UNCONFIRMED),
        specification=s["specification"],
        traceability=s["traceability"],
        date_code=date_code,
        serial=s["serial"],
        production_date=(dates or default_dates()).decode(date_code),
    )


def product_type(code: str) -> str:
    return PRODUCT_TYPES.get(code[3:4], "unknown")


# --- GS1 alias -----------------------------------------------------------------------------------------

GTIN_LENGTHS = (8, 12, 13, 14)
# GS1 AI encodable character set 82, the characters allowed in a serial (AI 21), at most 20 of them
SERIAL_CHARS = frozenset(string.ascii_letters + string.digits + "!\"%&'()*+,-./:;<=>?_")
SERIAL_MAX = 20


def gs1_check_digit(digits: str) -> str:
    """GS1 mod-10 check digit of the digits before it (weights 3, 1, 3, ... from the right)."""
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def gtin14(gtin: str) -> str:
    """A GTIN-8/12/13/14 as GTIN-14 (zero-padded); ValueError when it is malformed or its check digit is wrong."""
    if not (gtin.isascii() and gtin.isdigit() and len(gtin) in GTIN_LENGTHS):
        raise ValueError(f"GTIN {gtin!r} must be 8, 12, 13 or 14 digits")
    expected = gs1_check_digit(gtin[:-1])
    if gtin[-1] != expected:
        raise ValueError(f"GTIN {gtin!r} has check digit {gtin[-1]}, expected {expected} (GS1 mod 10)")
    return gtin.zfill(14)


def sgtin_digital_link(gtin: str, serial: str) -> str:
    """GS1 Digital Link URI of one battery item (SGTIN = GTIN + serial), the alias beside its GB/T code."""
    if not 1 <= len(serial) <= SERIAL_MAX:
        raise ValueError(f"serial {serial!r} must be 1 to {SERIAL_MAX} characters (GS1 AI 21)")
    bad = sorted(set(serial) - SERIAL_CHARS)
    if bad:
        raise ValueError(f"serial {serial!r} has characters outside GS1 character set 82: {''.join(bad)!r}")
    return f"https://id.gs1.org/01/{gtin14(gtin)}/21/{quote(serial, safe='')}"
