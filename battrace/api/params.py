"""Path parameters checked before any query runs: a malformed battery code is a 422, never a lookup."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from battrace.api.errors import ApiError
from battrace.domain.battery_code import BatteryCodeError, parse

EXAMPLE_CODE = "CH2CBL12000001T150000001"


def battery_code(
    battery_id: Annotated[str, Path(description="24-character GB/T 34014 battery code", examples=[EXAMPLE_CODE])],
) -> str:
    """The code itself when well-formed; otherwise 422 naming the first wrong position (see `battrace id check`)."""
    try:
        parse(battery_id)
    except BatteryCodeError as exc:
        raise ApiError(
            422, "invalid_battery_code", f"not a GB/T 34014 battery code: {exc.message}", exc.to_json()
        ) from None
    return battery_id
