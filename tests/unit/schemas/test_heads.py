"""The heads leaf and the checkpoint's heads line: one exact byte form each, parsed strictly."""

from __future__ import annotations

import base64
import json

import pytest

from battrace.tlog import Checkpoint, generate_signer, open_checkpoint, sign_checkpoint
from schemas.heads import HeadsLineError, head_leaf, heads_line, parse_heads
from schemas.log_entries import stdlib_dumps

ROOT = bytes(range(32))


def test_a_head_leaf_is_compact_sorted_json_of_the_three_fields() -> None:
    leaf = head_leaf("battery:X12MCPM27KLPCLX2M2382320", 3, "ab" * 32)
    assert leaf == b'{"chain_hash":"' + b"ab" * 32 + b'","entity":"battery:X12MCPM27KLPCLX2M2382320","length":3}'
    for entity in ('lot:"ß\\', "lot:\x00\n\u2028", "lot:\U0001f50b"):  # the stdlib's bytes, msgspec or not
        obj = {"entity": entity, "length": 1, "chain_hash": "00"}
        assert head_leaf(entity, 1, "00") == stdlib_dumps(obj) and json.loads(head_leaf(entity, 1, "00")) == obj


def test_a_heads_line_rides_in_a_signed_checkpoint_and_reads_back() -> None:
    line = heads_line(12345, ROOT)
    assert line == f"battrace-heads 12345 {base64.b64encode(ROOT).decode()}"
    signer = generate_signer("test.example/log")
    cp = Checkpoint("test.example/log/0", 7, bytes(32), ("other-extension x", line))
    opened = open_checkpoint(sign_checkpoint(cp, signer), [signer.verifier()], origin="test.example/log/0")
    assert parse_heads(opened.extensions) == (12345, ROOT)
    assert parse_heads(()) is None and parse_heads(["battrace-headsX 1 x", "other"]) is None


@pytest.mark.parametrize(
    "lines",
    [
        [heads_line(1, ROOT), heads_line(1, ROOT)],  # twice
        ["battrace-heads 1"],
        [f"battrace-heads 1 {base64.b64encode(ROOT).decode()} extra"],
        [f"battrace-heads 01 {base64.b64encode(ROOT).decode()}"],
        [f"battrace-heads -1 {base64.b64encode(ROOT).decode()}"],
        [f"battrace-heads ١ {base64.b64encode(ROOT).decode()}"],  # a digit, but not an ASCII one
        [f"battrace-heads {'9' * 21} {base64.b64encode(ROOT).decode()}"],
        [f"battrace-heads 1 {base64.b64encode(ROOT[:31]).decode()}"],
        [f"battrace-heads 1 {base64.b64encode(ROOT).decode().rstrip('=')}"],
        [f"battrace-heads 1 {base64.urlsafe_b64encode(bytes([251] * 32)).decode()}"],
        ["battrace-heads 1 !!!!"],
        [f"battrace-heads  1 {base64.b64encode(ROOT).decode()}"],
    ],
)
def test_malformed_heads_lines_are_refused(lines: list[str]) -> None:
    with pytest.raises(HeadsLineError):
        parse_heads(lines)
