"""C2SP tlog checkpoints, including a real checkpoint signed by sum.golang.org.

Sources (copied verbatim):
* SUMDB_VKEY: github.com/golang/mod @ fe2ec04f, gosumcheck/main.go (default ``-k``);
  the same string is used in transparency-dev/formats log/note_test.go.
* SUMDB_NOTE: github.com/transparency-dev/formats @ 0b850f1a, log/note_test.go
  TestSumDBNoteParsing — a sum.golang.org tree head of size 6476701.
* SPEC_CHECKPOINT: github.com/C2SP/C2SP @ 5ba5ee83, tlog-checkpoint.md opening example.
* GO_TREE: github.com/golang/mod @ fe2ec04f, sumdb/tlog/note_test.go TestFormatTree /
  TestParseTree (tlog.RecordHash is the RFC 6962 leaf hash).
* FMT_BAD: github.com/transparency-dev/formats @ 0b850f1a, log/checkpoint_test.go
  TestUnmarshalLogState, the "invalid" cases.
"""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from battrace.tlog.checkpoint import Checkpoint, CheckpointError, open_checkpoint, sign_checkpoint
from battrace.tlog.compact import CompactTree
from battrace.tlog.note import (
    InvalidSignatureError,
    MalformedNoteError,
    NoteError,
    UnverifiedNoteError,
    generate_signer,
    sign_note,
    verify_note,
)
from battrace.tlog.proof import inclusion_proof, verify_inclusion
from battrace.tlog.rfc6962 import EMPTY_ROOT, leaf_hash

SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_NOTE = (
    "go.sum database tree\n"
    "6476701\n"
    "mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n"
    "\n"
    "— sum.golang.org "
    "Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n"
)
SPEC_CHECKPOINT = (
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "— example.com/behind-the-sofa "
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)
GO_TREE = "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"
ROOT = base64.b64decode("mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=")


# --------------------------------------------------------------------------- real-world vectors


def test_open_real_sumdb_checkpoint() -> None:
    cp = open_checkpoint(SUMDB_NOTE, [SUMDB_VKEY])
    assert cp == Checkpoint("go.sum database tree", 6476701, ROOT)
    assert open_checkpoint(SUMDB_NOTE.encode(), SUMDB_VKEY, origin="go.sum database tree") == cp
    assert cp.to_text() == SUMDB_NOTE.split("\n\n")[0] + "\n"


def test_sumdb_checkpoint_wrong_origin() -> None:
    # transparency-dev/formats TestSumDBNoteParsing "wrong logID".
    with pytest.raises(CheckpointError):
        open_checkpoint(SUMDB_NOTE, [SUMDB_VKEY], origin="Go rocks but I might have the wrong ID")


def test_sumdb_checkpoint_every_bit_flip_is_rejected() -> None:
    raw = SUMDB_NOTE.encode()
    for i in range(len(raw) * 8):
        b = bytearray(raw)
        b[i // 8] ^= 1 << (i % 8)
        with pytest.raises((NoteError, CheckpointError)):
            open_checkpoint(bytes(b), [SUMDB_VKEY])


def test_sumdb_checkpoint_needs_the_sumdb_key() -> None:
    with pytest.raises(UnverifiedNoteError):
        open_checkpoint(SUMDB_NOTE, [generate_signer("sum.golang.org").verifier_key()])


def test_spec_example_parses() -> None:
    text = SPEC_CHECKPOINT.split("\n\n")[0] + "\n"
    cp = Checkpoint.parse(text)
    assert (cp.origin, cp.size) == ("example.com/behind-the-sofa", 20852163)
    assert cp.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert cp.extensions == ()
    assert cp.to_text() == text


def test_spec_example_is_a_relabelled_sumdb_checkpoint() -> None:
    # The spec's example signature carries sum.golang.org's key ID (033de0ae) under another
    # key name, so a sum.golang.org verifier must ignore it as unknown...
    with pytest.raises(UnverifiedNoteError) as e:
        open_checkpoint(SPEC_CHECKPOINT, [SUMDB_VKEY])
    assert e.value.unknown[0].key_id == bytes.fromhex("033de0ae")
    # ...and with the origin and key name put back, it is a genuine sum.golang.org tree head.
    restored = SPEC_CHECKPOINT.replace("example.com/behind-the-sofa", "go.sum database tree", 1).replace(
        "— example.com/behind-the-sofa", "— sum.golang.org"
    )
    assert open_checkpoint(restored, [SUMDB_VKEY]).size == 20852163


def test_go_tree_format() -> None:
    cp = Checkpoint("go.sum database tree", 123456789012, leaf_hash(b"hello world"))
    assert cp.to_text() == GO_TREE
    assert Checkpoint.parse(GO_TREE) == cp


@pytest.mark.parametrize(
    "text",
    [
        # golang/mod sumdb/tlog TestParseTree bad trees.
        "go.sum database tree\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
        "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n",
        # transparency-dev/formats TestUnmarshalLogState invalid cases.
        "Head\n9944\n",
        "\n9944\ndGhlIHZpZXcgZnJvbSB0aGUgdHJlZSB0b3BzIGlzIGdyZWF0IQ==\n",
        "Log\n123\nYmFuYW5hcw==",
        "Log\nbananas\ndGhlIHZpZXcgZnJvbSB0aGUgdHJlZSB0b3BzIGlzIGdyZWF0IQ==\n",
        "Log\n-34\ndGhlIHZpZXcgZnJvbSB0aGUgdHJlZSB0b3BzIGlzIGdyZWF0IQ==\n",
        "Log\n3438945738945739845734895735\ndGhlIHZpZXcgZnJvbSB0aGUgdHJlZSB0b3BzIGlzIGdyZWF0IQ==\n",
        "Log\n123\nThisIsn'tBase64\n",
        # Their valid cases carry 7- and 37-byte "roots"; a checkpoint root is 32 bytes.
        "Log\n123\nYmFuYW5hcw==\n",
    ],
)
def test_published_bad_checkpoints(text: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(text)


# --------------------------------------------------------------------------- strict parsing

R64 = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    "size",
    [
        "",
        "00",
        "01",
        "+1",
        "-0",
        " 1",
        "1 ",
        "1_000",
        "1e3",
        "0x10",
        "١٢",
        "１",
        "18446744073709551616",
        "9" * 5000,
    ],
)
def test_size_must_be_canonical_decimal(size: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(f"origin\n{size}\n{R64}\n")


@pytest.mark.parametrize("size", [0, 1, 10, 18446744073709551615])
def test_valid_sizes(size: int) -> None:
    assert Checkpoint.parse(f"origin\n{size}\n{R64}\n").size == size


@pytest.mark.parametrize(
    "root",
    [
        "",
        base64.b64encode(ROOT[:31]).decode(),
        base64.b64encode(ROOT + b"\x00").decode(),
        R64[:-1],  # missing padding
        R64[:-2] + "l=",  # "k" and "l" differ only in the two padding bits: same bytes
        R64[:5] + "_" + R64[6:],  # URL-safe alphabet
        " " + R64,
        R64.encode().hex(),
    ],
)
def test_root_must_be_canonical_base64_of_32_bytes(root: str) -> None:
    assert R64.endswith("k=")
    with pytest.raises(CheckpointError):
        Checkpoint.parse(f"origin\n5\n{root}\n")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n",
        f"origin\n5\n{R64}",  # no final newline
        f"origin\n5\n{R64}\n\n",  # empty extension line
        f"origin\n5\n{R64}\next\n\n",
        f"origin\r\n5\n{R64}\n",
        f"origin\n5\r\n{R64}\n",
        f"origin\n5\n{R64}\r\n",
        f"\n5\n{R64}\n",
        f"origin\n5\n{R64}\nbad\x00ext\n",
    ],
)
def test_malformed_checkpoint_text(text: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(text)


def test_parse_rejects_non_text() -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(GO_TREE.encode())  # type: ignore[arg-type]


def test_extensions_round_trip() -> None:
    cp = Checkpoint("battrace.example/log", 3, ROOT, ("ext one", "ext two"))
    assert cp.to_text() == f"battrace.example/log\n3\n{R64}\next one\next two\n"
    assert Checkpoint.parse(cp.to_text()) == cp


@pytest.mark.parametrize(
    "kwargs",
    [
        {"origin": ""},
        {"origin": "a\nb"},
        {"origin": "a\rb"},
        {"origin": None},
        {"size": -1},
        {"size": 2**64},
        {"size": True},
        {"size": 1.0},
        {"size": "5"},
        {"root": ROOT[:31]},
        {"root": R64},
        {"root": bytearray(ROOT)},
        {"extensions": ["list"]},
        {"extensions": ("",)},
        {"extensions": ("a\nb",)},
        {"extensions": (1,)},
    ],
)
def test_constructor_validates(kwargs: dict) -> None:
    args = {"origin": "o", "size": 5, "root": ROOT, "extensions": ()} | kwargs
    with pytest.raises(CheckpointError):
        Checkpoint(**args)


# --------------------------------------------------------------------------- signing


def test_sign_and_open_round_trip_with_witness() -> None:
    log = generate_signer("battrace.example/log")
    witness = generate_signer("witness.example")
    tree = CompactTree()
    records = [f"battery-{i}".encode() for i in range(11)]
    hashes = [tree.append_entry(r) for r in records]
    cp = Checkpoint("battrace.example/log", tree.size, tree.root())
    note = sign_checkpoint(cp, [log, witness])
    # Only the log key supplied: the witness cosignature is ignored, not an error.
    opened = open_checkpoint(note, [log.verifier_key()], origin="battrace.example/log")
    assert opened == cp
    # The offline audit this package exists for: a sealed record against the signed root.
    assert verify_inclusion(hashes[7], 7, opened.size, inclusion_proof(hashes, 7), opened.root)
    assert verify_note(note, [log.verifier_key(), witness.verifier_key()]).names == (
        "battrace.example/log",
        "witness.example",
    )


def test_checkpoint_of_empty_log() -> None:
    log = generate_signer("battrace.example/log")
    cp = Checkpoint("battrace.example/log", 0, EMPTY_ROOT)
    assert cp.to_text() == "battrace.example/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    assert open_checkpoint(sign_checkpoint(cp, log), log.verifier_key()) == cp


def test_signed_note_that_is_not_a_checkpoint() -> None:
    log = generate_signer("battrace.example/log")
    note = sign_note("if this is a valid checkpoint then I'll eat my hat\n", log)
    with pytest.raises(CheckpointError):
        open_checkpoint(note, [log.verifier_key()])


def test_signature_over_another_checkpoint_is_invalid() -> None:
    log = generate_signer("battrace.example/log")
    a = sign_checkpoint(Checkpoint("battrace.example/log", 5, ROOT), log)
    b = sign_checkpoint(Checkpoint("battrace.example/log", 6, ROOT), log)
    spliced = a.split("\n\n")[0] + "\n\n" + b.split("\n\n")[1]
    with pytest.raises(InvalidSignatureError):
        open_checkpoint(spliced, [log.verifier_key()])


@pytest.mark.parametrize("note", ["", "garbage", "\n\n", b"\xff\xfe", None, SUMDB_NOTE.replace("— ", "")])
def test_garbage_checkpoint_notes(note: object) -> None:
    with pytest.raises(MalformedNoteError):
        open_checkpoint(note, [SUMDB_VKEY])  # type: ignore[arg-type]


line = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20)


@settings(max_examples=50, deadline=None)
@given(line, st.integers(0, 2**64 - 1), st.binary(min_size=32, max_size=32), st.lists(line, max_size=3))
def test_round_trip_property(origin: str, size: int, root: bytes, extensions: list[str]) -> None:
    cp = Checkpoint(origin, size, root, tuple(extensions))
    assert Checkpoint.parse(cp.to_text()) == cp
    signer = generate_signer("prop")
    assert open_checkpoint(sign_checkpoint(cp, signer), [signer.verifier_key()], origin=origin) == cp


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_parse_only_raises_checkpoint_error(text: str) -> None:
    with contextlib.suppress(CheckpointError):
        Checkpoint.parse(text)
