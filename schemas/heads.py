"""The heads of a partition log: each entity's chain length and newest chain hash, committed in its checkpoints.

An inclusion proof shows a record is in the log; nothing in it shows the log holds no newer record of the same
entity, so a bundle with its newest records dropped would still verify. The heads close that gap: at a checkpoint of
size N, the log's heads are one leaf per entity with at least one ``sealed`` entry among the first N entries,

    {"chain_hash": "<hex chain hash of its newest sealed entry>", "entity": "<type>:<id>", "length": <its seq>}

(compact JSON, sorted keys, like the log entries), in the order the entities first appear in the log. Their RFC 6962
root is a pure function of the first N entries, and the checkpoint carries it as one extension line,
``battrace-heads <count> <base64 root>``, under the log's signature (witnesses cosign the whole note). A bundle
proves its last record is its entity's head in that tree: no newer record exists as of the checkpoint.

Standard library only, so offline verifiers import it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

from schemas.log_entries import compact_json

HEADS_LINE = "battrace-heads"
_HASH_SIZE = 32


def head_leaf(entity: str, length: int, chain_hash: str) -> bytes:
    """The leaf bytes of an entity's head (hash them with the RFC 6962 leaf hash)."""
    return compact_json({"entity": entity, "length": length, "chain_hash": chain_hash})


def heads_line(count: int, root: bytes) -> str:
    """The checkpoint extension line committing to ``count`` heads with RFC 6962 root ``root``."""
    return f"{HEADS_LINE} {count} {base64.b64encode(root).decode()}"


class HeadsLineError(ValueError):
    """A checkpoint's heads line is malformed or repeated."""


def parse_heads(extensions: Iterable[str]) -> tuple[int, bytes] | None:
    """(count, root) from a checkpoint's extension lines; None if none of them is a heads line.

    Strict, as checkpoint parsing is: one line, canonical decimal count, canonical base64 of a 32-byte root.
    """
    found = [e for e in extensions if isinstance(e, str) and e.split(" ", 1)[0] == HEADS_LINE]
    if not found:
        return None
    if len(found) > 1:
        raise HeadsLineError("the checkpoint has more than one heads line")
    parts = found[0].split(" ")
    if len(parts) != 3:
        raise HeadsLineError("a heads line is 'battrace-heads <count> <base64 root>'")
    _, count_s, root_s = parts
    if not (0 < len(count_s) <= 20 and all("0" <= c <= "9" for c in count_s) and (count_s == "0" or count_s[0] != "0")):
        raise HeadsLineError(f"bad heads count {count_s[:30]!r}")
    try:
        root = base64.b64decode(root_s, validate=True)
    except (binascii.Error, ValueError):
        raise HeadsLineError("the heads root is not base64") from None
    if len(root) != _HASH_SIZE or base64.b64encode(root).decode() != root_s:
        raise HeadsLineError(f"the heads root must be canonical base64 of {_HASH_SIZE} bytes")
    return int(count_s), root
