"""The dedup state of the ingest stage: event id -> the source coordinates it was first accepted from.

Partitioned like the source topics (an event id is looked up under the partition number of the message
that carries it, so a re-sent event is caught when it keeps its Kafka key). Its changelog is the topic
trace.event_ids: one MessagePack map per source partition and ingest batch, at the partition of the same
number, so writing it costs one message per batch instead of one per event. A worker that is assigned a
source partition replays that changelog partition from where it last read before it ingests anything.

Backends: a dict (``memory://``), or RocksDB via rocksdict when the table store is ``rocksdb://`` — then the
state and the changelog offset it reflects survive a restart, and only the changelog's tail is replayed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import msgspec

Coordinates = tuple[str, int, int]  # source topic, partition, offset

_encode = msgspec.msgpack.Encoder().encode
_decode_changes = msgspec.msgpack.Decoder(dict[str, tuple[str, int, int]]).decode
_decode_coordinates = msgspec.msgpack.Decoder(tuple[str, int, int]).decode
_POSITION = b"\x00changelog-offset:"  # not a valid event id (they are non-empty text)


def encode_changes(changes: Mapping[str, Coordinates]) -> bytes:
    return _encode(changes)


def decode_changes(raw: bytes) -> dict[str, Coordinates]:
    return _decode_changes(raw)


class _Store(Protocol):
    def get(self, key: bytes, default: Any = None) -> Any: ...
    def __setitem__(self, key: bytes, value: bytes) -> None: ...


# RocksDB's defaults are sized for a server: a 64 MiB memtable (two of them) held ~55 MB of the ingest process at a
# million events. Ids are written once and looked up once per event: small memtables and caches lose nothing.
ROCKSDB_WRITE_BUFFER_BYTES = 4 * 1024**2
ROCKSDB_BLOCK_CACHE_BYTES = 8 * 1024**2


def _small_memory_options() -> Any:
    from rocksdict import BlockBasedOptions, Cache, Options

    options = Options()
    options.create_if_missing(True)
    options.set_write_buffer_size(ROCKSDB_WRITE_BUFFER_BYTES)
    options.set_max_write_buffer_number(2)
    table = BlockBasedOptions()
    table.set_block_cache(Cache(ROCKSDB_BLOCK_CACHE_BYTES))
    options.set_block_based_table_factory(table)
    return options


class EventIdIndex:
    """Lookups for the ingest stage; ``apply`` adds what the changelog holds (replayed or just written)."""

    def __init__(self, path: Path | None = None, read_only: bool = False) -> None:
        """``read_only``: beside the ingest process that writes it (what the bench reads before a kill)."""
        self._db: _Store
        if path is None:
            self._db = {}  # type: ignore[assignment]
        else:
            from rocksdict import AccessType, Rdict  # optional dependency: only with the rocksdb table store

            if read_only:
                self._db = Rdict(str(path), _small_memory_options(), access_type=AccessType.read_only())
            else:
                path.mkdir(parents=True, exist_ok=True)
                self._db = Rdict(str(path), _small_memory_options())
        self._rdict = path is not None

    def first(self, event_id: str) -> Coordinates | None:
        raw = self._db.get(event_id.encode())
        return None if raw is None else _decode_coordinates(raw)

    def apply(self, partition: int, changes: Mapping[str, Coordinates], next_offset: int | None = None) -> None:
        """Record first acceptances; ``next_offset``: the changelog position of ``partition`` they bring us to."""
        for event_id, where in changes.items():
            self._db[event_id.encode()] = _encode(where)
        if next_offset is not None:
            self._db[_POSITION + str(partition).encode()] = next_offset.to_bytes(8, "big")

    def logged(self, partition: int, changes: Mapping[str, Coordinates], offset: int) -> None:
        """Record first acceptances this process just wrote to the changelog at ``offset``.

        The position moves past them only when nothing can lie between: ingest processes of other source topics
        write to the same changelog partition (it is chosen by partition number), and a position moved past
        their records would make a later replay (a restart on disk, a partition that comes back) skip them."""
        contiguous = offset == self.position(partition)
        self.apply(partition, changes, offset + 1 if contiguous else None)

    def position(self, partition: int) -> int:
        """The changelog offset of ``partition`` this index already reflects (0: replay from the start)."""
        raw = self._db.get(_POSITION + str(partition).encode())
        return 0 if raw is None else int.from_bytes(raw, "big")

    def close(self) -> None:
        if self._rdict:
            self._db.close()  # type: ignore[attr-defined]


def replay(index: EventIdIndex, partition: int, records: Iterable[tuple[int, bytes]]) -> int:
    """Apply changelog records (offset, value) of one partition in order; returns how many ids they held."""
    count = 0
    for offset, value in records:
        changes = decode_changes(value)
        index.apply(partition, changes, offset + 1)
        count += len(changes)
    return count
