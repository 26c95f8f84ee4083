"""GB/T 34014-2017 battery code syntax (24 characters), as in the Catena-X traction battery code model."""

from __future__ import annotations

import re

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


def code_error(code: str) -> str | None:
    """None for a well-formed code, else what is wrong and at which (1-based) position."""
    if len(code) != LENGTH:
        return f"must be {LENGTH} characters, got {len(code)}"
    if PATTERN.fullmatch(code):
        return None
    pos = 0
    for name, width, rx in SEGMENTS:
        part = code[pos : pos + width]
        if not re.fullmatch(rx, part):
            for i, ch in enumerate(part):
                if not re.fullmatch(rx.split("{")[0], ch):
                    return f"position {pos + i + 1} ({name}): {ch!r} not in {rx.split('{')[0]}"
            return f"{name} {part!r} does not match {rx}"  # pragma: no cover - per-char check covers it
        pos += width
    return "does not match"  # pragma: no cover


def product_type(code: str) -> str:
    return {"C": "cell", "M": "module", "P": "pack"}.get(code[3:4], "unknown")
