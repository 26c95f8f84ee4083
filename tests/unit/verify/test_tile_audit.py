"""tile_problems: every stored tile against the hash of the entries it covers, naming a wrong or an extra one."""

from __future__ import annotations

from battrace.store.heads import Heads
from battrace.tlog import CompactTree, leaf_hash
from battrace.verify.log_audit import LogStart, LogView, tile_problems

LOG = "battrace/log/0"


def view_of(n: int, start: int = 0) -> tuple[LogView, dict[tuple[int, int], bytes], list[bytes]]:
    """A log of ``n`` entries held from ``start``, and the tiles the seal stage stores for it."""
    leaves = [leaf_hash(f"entry {i}".encode()) for i in range(n)]
    completed: list[tuple[int, int, bytes]] = []
    CompactTree().extend(leaves, completed)
    view = LogView(LOG, leaves=leaves[start:], start=start)
    return view, {(height, index): h for height, index, h in completed}, leaves


def test_the_stored_tiles_of_a_log_are_no_problem_and_missing_ones_neither() -> None:
    view, tiles, _ = view_of(1000)
    assert len(tiles) == 3
    assert tile_problems(view, tiles) == []
    assert tile_problems(view, {}) == []


def test_a_wrong_and_an_extra_tile_are_named() -> None:
    view, tiles, _ = view_of(1000)
    tiles[(8, 1)] = bytes(32)
    tiles[(8, 3)] = bytes(32)  # entries [768, 1024): the log holds 1000
    tiles[(16, 0)] = bytes(32)
    assert tile_problems(view, tiles) == [
        "tile 8/1: not the hash of entries [256, 512)",
        "tile 8/3: entries [768, 1024) are not all held, yet a tile covers them",
        "tile 16/0: entries [0, 65536) are not all held, yet a tile covers them",
    ]


def test_an_altered_entry_is_named_through_its_tile() -> None:
    view, tiles, _ = view_of(600)
    view.leaves[300] = leaf_hash(b"altered")
    assert tile_problems(view, tiles) == ["tile 8/1: not the hash of entries [256, 512)"]


def test_after_an_archive_cut_tiles_below_it_are_left_and_the_one_across_it_is_checked() -> None:
    _, tiles, leaves = view_of(1000)
    cut = 300
    compact = CompactTree()
    compact.extend(leaves[:cut])
    start = LogStart(cut, compact.root(), compact, Heads())
    view = LogView(LOG, leaves=leaves[cut:], start=cut)
    tiles[(8, 0)] = bytes(32)  # wholly archived: the live store cannot recompute it
    assert tile_problems(view, tiles, start) == []
    tiles[(8, 1)] = bytes(32)  # [256, 512) ends after the cut: recomputed from the compact range and the held leaves
    assert tile_problems(view, tiles, start) == ["tile 8/1: not the hash of entries [256, 512)"]
