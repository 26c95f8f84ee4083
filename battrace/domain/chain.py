"""Per-entity hash chain: chain_n = SHA-256(chain_{n-1} || event_hash_n || n), n as 8-byte big-endian."""

from __future__ import annotations

import hashlib

GENESIS = bytes(32)


def event_hash(canonical: bytes) -> bytes:
    return hashlib.sha256(canonical).digest()


def chain_step(prev: bytes, ev_hash: bytes, seq: int) -> bytes:
    if len(prev) != 32 or len(ev_hash) != 32 or seq < 1:
        raise ValueError("chain_step needs two 32-byte hashes and seq >= 1")
    return hashlib.sha256(prev + ev_hash + seq.to_bytes(8, "big")).digest()
