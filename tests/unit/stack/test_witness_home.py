"""The witness's home: its key kept private, the logs it pins, the tree heads it remembers across restarts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from battrace.stack.witness import WitnessHome, WitnessHomeError
from battrace.tlog import generate_signer
from battrace.tlog.witness import TreeHead

LOG = generate_signer("battrace.example/log")


def test_init_makes_a_private_key_that_loads_back(tmp_path: Path) -> None:
    home = WitnessHome(tmp_path / "w")
    made = home.init("witness.example/w1", {"battrace.example/log/": LOG.verifier_key()})
    assert home.cosigner().key() == made.key()
    assert os.stat(home.key_path).st_mode & 0o777 == 0o600
    assert os.stat(home.path).st_mode & 0o777 == 0o700
    assert home.log_keys() == {"battrace.example/log/": [LOG.verifier()]}
    with pytest.raises(WitnessHomeError, match="already has a witness key"):
        home.init("witness.example/w2", {})


def test_a_key_others_can_read_is_refused(tmp_path: Path) -> None:
    home = WitnessHome(tmp_path)
    home.init("witness.example/w1", {})
    os.chmod(home.key_path, 0o644)
    with pytest.raises(WitnessHomeError, match="chmod 600"):
        home.cosigner()


def test_missing_and_malformed_files_name_the_file(tmp_path: Path) -> None:
    home = WitnessHome(tmp_path)
    with pytest.raises(WitnessHomeError, match="witness init"):
        home.cosigner()
    with pytest.raises(WitnessHomeError, match="bad log origin"):
        home.init("witness.example/w1", {"": LOG.verifier_key()})
    home.init("witness.example/w1", {})
    home.logs_path.write_text("battrace.example/log/ not-a-key\n")
    with pytest.raises(WitnessHomeError, match="line 1"):
        home.log_keys()


def test_tree_heads_are_kept_per_origin_and_replaced_whole(tmp_path: Path) -> None:
    state = WitnessHome(tmp_path).state()
    assert state.get("a/0") is None
    state.put("a/0", TreeHead(3, b"\x01" * 32))
    state.put("a/1", TreeHead(5, b"\x02" * 32))
    state.put("a/0", TreeHead(4, b"\x03" * 32))
    assert state.get("a/0") == TreeHead(4, b"\x03" * 32) and state.get("a/1") == TreeHead(5, b"\x02" * 32)
    assert not list((tmp_path / "heads").glob("*.tmp"))
    moved = next(p for p in (tmp_path / "heads").iterdir() if "a/1" in p.read_text())
    target = next(p for p in (tmp_path / "heads").iterdir() if p != moved)
    target.write_bytes(moved.read_bytes())  # a head file copied under another origin's name
    with pytest.raises(WitnessHomeError):
        state.get("a/0")
