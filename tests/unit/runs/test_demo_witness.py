"""The demo's witness keeps its key between runs and forgets the tree heads of the previous run's logs; a home that
no longer pins the operator's key is made anew."""

from __future__ import annotations

import shutil
from pathlib import Path

from battrace.runs.demo_witness import NAME, demo_witness
from battrace.settings import Settings
from battrace.tlog.witness import TreeHead


def test_the_key_is_kept_and_the_heads_are_forgotten(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    home, key = demo_witness(settings)
    assert key.name == NAME and home.path == tmp_path / "witness"
    home.state().put(settings.log_id(0), TreeHead(7, b"\x01" * 32))
    again, same = demo_witness(settings)
    assert same == key and again.state().get(settings.log_id(0)) is None


def test_a_home_pinning_another_log_key_is_made_anew(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    _, first = demo_witness(settings)
    shutil.rmtree(settings.keys_dir)  # the operator's key is new: the old home pins a key that signs nothing now
    home, second = demo_witness(settings)
    assert second != first and home.cosigner().key() == second
