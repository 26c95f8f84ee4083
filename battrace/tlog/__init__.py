"""Offline verification of sealed battery records.

battrace seals every battery event into an append-only RFC 6962 Merkle tree and
publishes signed C2SP checkpoints of that tree. This package is the part an
auditor, a regulator or a recycler needs to check those seals *without* access
to Kafka, Faust or ClickHouse: given a record, an inclusion proof and a signed
checkpoint, it answers "was this record in the log the operator committed to?",
and given two checkpoints, "did the log only ever grow?".

It depends on the standard library and ``cryptography`` (Ed25519) only, and is
modelled on transparency-dev/merkle and golang.org/x/mod/sumdb/note so its
output interoperates with the Go transparency-log ecosystem:

* :mod:`~battrace.tlog.rfc6962` — leaf/node hashing and the Merkle tree hash
* :mod:`~battrace.tlog.proof` — inclusion and consistency proofs (RFC 9162)
* :mod:`~battrace.tlog.compact` — O(log n) incremental tree for the sealing pipeline
* :mod:`~battrace.tlog.tree` — incremental tree of every complete subtree, for cheap inclusion proofs
* :mod:`~battrace.tlog.tiles` — proofs of a stored log from its stored subtree hashes and a few leaves
* :mod:`~battrace.tlog.note` — C2SP signed notes with Ed25519 keys
* :mod:`~battrace.tlog.checkpoint` — C2SP tlog checkpoints
"""

from battrace.tlog.checkpoint import Checkpoint, CheckpointError, open_checkpoint, sign_checkpoint
from battrace.tlog.compact import CompactTree
from battrace.tlog.note import (
    InvalidKeyError,
    InvalidSignatureError,
    MalformedNoteError,
    NoteError,
    Signature,
    Signer,
    UnverifiedNoteError,
    VerifiedNote,
    Verifier,
    generate_signer,
    key_id,
    note_verifies,
    sign_note,
    verify_note,
)
from battrace.tlog.proof import (
    consistency_proof,
    consistency_proof_appended,
    inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from battrace.tlog.rfc6962 import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash, root_hash
from battrace.tlog.tree import MerkleTree

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Checkpoint",
    "CheckpointError",
    "CompactTree",
    "InvalidKeyError",
    "InvalidSignatureError",
    "MalformedNoteError",
    "MerkleTree",
    "NoteError",
    "Signature",
    "Signer",
    "UnverifiedNoteError",
    "VerifiedNote",
    "Verifier",
    "consistency_proof",
    "consistency_proof_appended",
    "generate_signer",
    "inclusion_proof",
    "key_id",
    "leaf_hash",
    "node_hash",
    "note_verifies",
    "open_checkpoint",
    "root_hash",
    "sign_checkpoint",
    "sign_note",
    "verify_consistency",
    "verify_inclusion",
    "verify_note",
]
