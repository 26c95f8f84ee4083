"""The logs' stored Merkle tiles (table ``log_tiles``, battrace/store/ddl/011_log_tiles.sql), read back.

A proof asks for a few stored nodes per tiled height, all within one run of 256 neighbours (battrace/tlog/tiles.py),
so they are read a run at a time: a proof costs one small query per height instead of the whole log. A store made
before tiles existed has no such table; its proofs then hash the leaves, as they did before.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

RUN = 256  # neighbouring nodes of one height read together: a tlog-tiles tile


def has_tiles(client: Client) -> bool:
    """Whether the store has the tiles table at all (a read-only client cannot create it)."""
    rows = client.query(
        "SELECT count() FROM system.tables WHERE database = 'battrace' AND name = 'log_tiles'"
    ).result_rows
    return bool(rows[0][0])


def stored_tiles(
    client: Client, log_id: str, height: int | None = None, first: int = 0, end: int | None = None
) -> dict[tuple[int, int], bytes]:
    """(height, index) -> hash of a log's stored tiles: all of them, or of one height with index in [first, end)."""
    where = ""
    if height is not None:
        where = "AND height = {h:UInt8} AND tile_index >= {first:UInt64}"
        where += " AND tile_index < {end:UInt64}" if end is not None else ""
    rows = client.query(
        "SELECT height, tile_index, lower(hex(hash)) FROM battrace.log_tiles FINAL "
        f"WHERE log_id = {{log:String}} {where}",
        parameters={"log": log_id, "h": height or 0, "first": first, "end": end or 0},
    ).result_rows
    return {(int(h), int(i)): bytes.fromhex(x) for h, i, x in rows}


class TileReader:
    """A log's stored tiles as a proof asks for them (``node``), read one run of 256 per height and kept."""

    def __init__(self, client: Client, log_id: str) -> None:
        self._client, self._log_id = client, log_id
        self._present: bool | None = None
        self._runs: dict[tuple[int, int], dict[tuple[int, int], bytes]] = {}

    def node(self, height: int, index: int) -> bytes | None:
        """The stored root of node ``index`` of ``height``, None where none is stored."""
        if self._present is None:
            self._present = has_tiles(self._client)
        if not self._present:
            return None
        run = index // RUN
        found = self._runs.get((height, run))
        if found is None:
            found = stored_tiles(self._client, self._log_id, height, run * RUN, (run + 1) * RUN)
            self._runs[(height, run)] = found
        return found.get((height, index))
