"""Many batteries, cheaply: only the cell lines' ``Commissioned`` events, one distinct battery each.

The full story spends about four events per battery on materials, energy, assembly and freight, so state
benchmarks (a million batteries in the worker's tables) would need millions of events. ``commissioning``
drives the story's own cell step (``Story._cell``) just far enough to take its first event, the MES
``Commissioned`` record, so codes, records and encoding are exactly the simulator's.
"""

from __future__ import annotations

from collections.abc import Iterator

from schemas.codec import encode
from streams.simulator import SimEvent
from streams.simulator.story import Story, base36


def commissioning(batteries: int, seed: int = 7) -> Iterator[SimEvent]:
    """Exactly ``batteries`` valid ``Commissioned`` events, one per distinct cell, byte-identical per seed.

    Keyed by battery id (so they spread over partitions like the story's); the cell lines take turns, cells
    share a traceability code in pack-sized groups, and a cell is made about every second (the story's own line
    pace, minutes per cell, would spread a million cells over years of event time).
    """
    if batteries < 0:
        raise ValueError(f"batteries must be >= 0, got {batteries}")
    return _run(batteries, seed)


def _run(batteries: int, seed: int) -> Iterator[SimEvent]:
    story = Story(seed)
    lines = list(story.lines.values())
    left = [0] * len(lines)  # cells until the next traceability code, per line
    trace = [""] * len(lines)
    for i in range(batteries):
        n = i % len(lines)
        line = lines[n]
        if not left[n]:
            pack = story.rng.choice(line.spec.packs)
            line.packs_made, left[n] = line.packs_made + 1, pack.modules * pack.cells_per_module
            trace[n] = line.spec.line_no + base36(line.packs_made, 6)  # as Story._line numbers its packs
        left[n] -= 1
        cell = story._cell(line, trace[n])
        d = next(cell)  # the Commissioned draft; the rest of the cell's life is never run
        cell.close()
        yield SimEvent(d.topic, d.key.encode(), encode(d.schema, d.record), d.timestamp_ms, None, d.record["event_id"])
        story.now += round(story._secs(0.5, 1.5) * 1000)
