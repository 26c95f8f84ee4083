"""The serializer of the Faust table values (entity states, log states) and their changelog.

JSON, so the changelog stays readable, encoded by msgspec: orjson (which faust picks when it is installed)
returns each small value in a 4 KiB allocation, and a seal batch holds thousands of them until faust's
producer has sent them; msgspec's output is sized to the value, and faster than the standard library.
"""

from __future__ import annotations

from typing import Any

import msgspec
from faust.serializers import codecs

NAME = "battrace_json"
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def encode(value: Any) -> bytes:
    """A table value as its changelog message carries it."""
    return _encode(value)


def copy(value: Any) -> Any:
    """A private copy of a table value, exactly as a restarted worker would read it back from the changelog (and
    several times faster than copy.deepcopy, which was a twentieth of the seal stage)."""
    return _decode(_encode(value))


class MsgspecJson(codecs.Codec):
    def _dumps(self, obj: Any) -> bytes:
        return _encode(obj)

    def _loads(self, s: bytes) -> Any:
        return _decode(s)


def register() -> None:
    """Make the codec known to faust under NAME (the worker does, before its tables are made); not done on import,
    which would change faust's codec registry in every process importing this module."""
    if not isinstance(codecs.codecs.get(NAME), MsgspecJson):
        codecs.register(NAME, MsgspecJson())


class TableValue:
    """``value_type`` of the tables: faust takes the changelog codec from it and returns decoded JSON as is."""

    class _options:  # the attribute faust reads
        serializer = NAME

    @classmethod
    def from_data(cls, data: Any, *, preferred_type: Any = None) -> Any:
        return data
