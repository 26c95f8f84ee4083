"""`battrace verify --bundle` requiring k of n witness cosignatures, from flags or settings: a checkpoint short of
the quorum fails (exit 1) naming the witnesses missing; a requirement no pinned set can meet is a usage error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from test_verify_bundle_cli import LOG, SIGNER, one_record_bundle

from battrace.cli.verify import verify_cmd
from battrace.tlog.cosignature import Cosigner, add_cosignature
from battrace.tlog.note import parse_note

W1, W2 = Cosigner.generate("witness.example/w1"), Cosigner.generate("witness.example/w2")


def cosigned_bundle(*cosigners: Cosigner) -> dict:
    bundle = one_record_bundle()
    note = bundle["checkpoints"][LOG]
    text, _ = parse_note(note)
    for cosigner in cosigners:
        note = add_cosignature(note, cosigner.cosign(text, 1_700_000_000))
    bundle["checkpoints"][LOG] = note
    return bundle


def run(tmp_path: Path, bundle: dict, *args: str, **env: str) -> Result:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    environment = {"BATTRACE_HOME": str(tmp_path / "home"), **{f"BATTRACE_{k.upper()}": v for k, v in env.items()}}
    args = ("--bundle", str(path), "--key", SIGNER.verifier_key(), *args)
    return CliRunner().invoke(verify_cmd, list(args), env=environment)


def failures(result: Result) -> list[str]:
    return [f["problem"] for f in json.loads(result.output)["failures"]]


def test_the_required_witness_cosigned_from_flags_or_settings(tmp_path: Path) -> None:
    bundle = cosigned_bundle(W1)
    both = ("--witness-key", W1.key().to_key(), "--witness-key", W2.key().to_key())
    for result in (
        run(tmp_path, bundle, "--witness-key", W1.key().to_key(), "--json"),
        run(tmp_path, bundle, "--json", witnesses=W1.key().to_key(), witness_quorum="1"),
        run(tmp_path, bundle, "--json", *both, "--witnesses-required", "1"),
    ):
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["verified"]


def test_a_checkpoint_short_of_the_quorum_fails_naming_the_missing_witness(tmp_path: Path) -> None:
    bundle = cosigned_bundle(W1)
    other = run(tmp_path, bundle, "--json", "--witness-key", W2.key().to_key())
    assert other.exit_code == 1
    assert failures(other) == [f"checkpoint 1 of {LOG}: 0 of the 1 required witness cosignatures; missing: {W2.name}"]
    two = run(tmp_path, bundle, "--json", "--witness-key", W1.key().to_key(), "--witness-key", W2.key().to_key())
    assert two.exit_code == 1  # every given key is required by default
    assert failures(two) == [f"checkpoint 1 of {LOG}: 1 of the 2 required witness cosignatures; missing: {W2.name}"]
    unsigned = run(tmp_path, one_record_bundle(), "--json", witnesses=W1.key().to_key(), witness_quorum="1")
    assert unsigned.exit_code == 1 and W1.name in failures(unsigned)[0]
    # without a requirement the same bundle verifies: the failures above are the witnesses' alone
    assert run(tmp_path, one_record_bundle(), "--json").exit_code == 0


def test_a_forged_cosignature_line_fails_and_never_raises(tmp_path: Path) -> None:
    bundle = cosigned_bundle(W1)
    note = bundle["checkpoints"][LOG]
    head, _, last = note.rstrip("\n").rpartition("\n")
    bundle["checkpoints"][LOG] = f"{head}\n{last[:-6]}AAAAA=\n"  # W1's line with its signature bytes changed
    result = run(tmp_path, bundle, "--json", "--witness-key", W1.key().to_key())
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1
    assert failures(result) == [f"checkpoint 1 of {LOG}: 0 of the 1 required witness cosignatures; missing: {W1.name}"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--witnesses-required", "2", "--witness-key", W1.key().to_key()), "pin more witness keys"),
        (("--witnesses-required", "1"), "--witness-key or set BATTRACE_WITNESSES"),
        (("--witness-key", "witness.example/w1+00000000+AAAA"), "--witness-key"),
    ],
    ids=["more-than-pinned", "none-pinned", "bad-key"],
)
def test_a_requirement_that_cannot_be_met_is_a_one_line_usage_error(tmp_path: Path, args, said: str) -> None:
    result = run(tmp_path, cosigned_bundle(W1), *args)
    assert result.exit_code == 2 and said in result.output and "Traceback" not in result.output, result.output
