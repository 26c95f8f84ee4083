"""`battrace cosign` and `keys trust-report`: keys missing or misplaced are one line naming the fix, before any
network; the co-signer's key is its own and stays the same; pinned report keys are what the keyring trusts."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from battrace.cli.cosign import cosign
from battrace.cli.keys import keys_group
from battrace.keys import KeyRing
from battrace.settings import Settings
from battrace.tlog import generate_signer

LOG_KEY = generate_signer("operator.example/log").verifier_key()
QA_KEY = generate_signer("operator.example/report/manufacturer_qa").verifier_key()


def run(command, args: list[str], home: Path, **env: str | None):
    environment = {"BATTRACE_HOME": str(home), "BATTRACE_VERIFIER_KEYS": None, "BATTRACE_KAFKA": None, **env}
    return CliRunner().invoke(command, args, env=environment)


def one_line_error(result) -> str:
    assert result.exit_code in (1, 2) and "Traceback" not in result.output, result.output
    return result.output.strip().splitlines()[-1]


def test_without_the_operators_log_key_it_says_how_to_pin_it(tmp_path: Path) -> None:
    line = one_line_error(run(cosign, ["--once"], tmp_path))
    assert "no operator log key pinned" in line and "BATTRACE_VERIFIER_KEYS" in line


def test_without_the_qa_key_it_says_how_to_pin_it(tmp_path: Path) -> None:
    line = one_line_error(run(cosign, ["--once"], tmp_path, BATTRACE_VERIFIER_KEYS=LOG_KEY))
    assert "no manufacturer QA key pinned" in line and "battrace keys trust-report manufacturer_qa" in line


def test_without_a_broker_it_says_which_setting(tmp_path: Path) -> None:
    line = one_line_error(run(cosign, ["--once", "--qa-key", QA_KEY], tmp_path, BATTRACE_VERIFIER_KEYS=LOG_KEY))
    assert "BATTRACE_KAFKA is empty" in line


def test_it_refuses_the_home_that_holds_the_manufacturers_key(tmp_path: Path) -> None:
    KeyRing(Settings(home=tmp_path)).report_signer("manufacturer_qa")
    line = one_line_error(run(cosign, ["key"], tmp_path))
    assert "holds the manufacturer's QA signing key" in line and "home of its own" in line
    assert not (tmp_path / "keys" / "report" / "third_party_verifier.skey").exists()


def test_its_key_is_created_once_and_pinned_by_the_operator(tmp_path: Path) -> None:
    cosigner, operator = tmp_path / "cosigner", tmp_path / "operator"
    first, again = run(cosign, ["key"], cosigner), run(cosign, ["key"], cosigner)
    assert first.exit_code == 0 and first.output == again.output and "third_party_verifier" in first.output
    pinned = run(keys_group, ["trust-report", "third_party_verifier", first.output.strip()], operator)
    assert pinned.exit_code == 0, pinned.output
    trusted = KeyRing(Settings(home=operator)).report_verifiers()
    assert [v.to_key() for v in trusted["third_party_verifier"]] == [first.output.strip()]
    assert not (operator / "keys" / "report" / "third_party_verifier.skey").exists()


def test_pinning_again_replaces_the_pinned_key(tmp_path: Path) -> None:
    other = generate_signer("operator.example/report/manufacturer_qa").verifier_key()
    for key in (QA_KEY, other):
        assert run(keys_group, ["trust-report", "manufacturer_qa", key], tmp_path).exit_code == 0
    assert [v.to_key() for v in KeyRing(Settings(home=tmp_path)).report_verifiers()["manufacturer_qa"]] == [other]


def test_a_malformed_key_or_unknown_role_is_refused(tmp_path: Path) -> None:
    assert "give the name+keyid+key string" in one_line_error(
        run(keys_group, ["trust-report", "manufacturer_qa", "garbage"], tmp_path)
    )
    assert one_line_error(run(keys_group, ["trust-report", "auditor", QA_KEY], tmp_path))
    assert not (tmp_path / "keys" / "report" / "manufacturer_qa.vkey").exists()
