"""BATTRACE_WITNESSES and BATTRACE_WITNESS_QUORUM: parsed at start-up; a bad value is one line naming the variable
and the fix."""

from __future__ import annotations

import click
import pytest

from battrace.cli.common import settings_or_exit
from battrace.keys import KeyConfigError, KeyRing
from battrace.settings import Settings
from battrace.tlog.cosignature import Cosigner

W1, W2 = Cosigner.generate("witness.example/w1"), Cosigner.generate("witness.example/w2")
K1, K2 = W1.key().to_key(), W2.key().to_key()


def test_witnesses_with_and_without_url_and_a_quorum(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("BATTRACE_WITNESSES", f" {K1} https://w1.example/witness/ ,\n{K2}")
    monkeypatch.setenv("BATTRACE_WITNESS_QUORUM", "2")
    settings = Settings(home=tmp_path)
    assert settings.witness_entries == [(K1, "https://w1.example/witness/"), (K2, "")]
    assert settings.witness_quorum == 2
    assert [(k.name, url) for k, url in KeyRing(settings).witnesses()] == [
        (W1.name, "https://w1.example/witness/"),
        (W2.name, ""),
    ]
    assert Settings(home=tmp_path, witnesses="", witness_quorum=0).witness_entries == []


@pytest.mark.parametrize(
    ("env", "named", "said"),
    [
        ({"BATTRACE_WITNESSES": "witness.example/w1 http://x"}, "BATTRACE_WITNESSES", "NAME+KEYID+KEY"),
        ({"BATTRACE_WITNESSES": K1.replace("+", "+0", 1)[:-1] + " http://x"}, "BATTRACE_WITNESSES", "key ID"),
        ({"BATTRACE_WITNESSES": K1[:-4] + "!!!! http://x"}, "BATTRACE_WITNESSES", "not base64"),
        ({"BATTRACE_WITNESSES": f"{K1} ftp://x"}, "BATTRACE_WITNESSES", "not an http(s) URL"),
        ({"BATTRACE_WITNESSES": f"{K1} http://"}, "BATTRACE_WITNESSES", "not an http(s) URL"),
        ({"BATTRACE_WITNESSES": K1, "BATTRACE_WITNESS_QUORUM": "2"}, "BATTRACE_WITNESS_QUORUM", "names 1 witness"),
        ({"BATTRACE_WITNESS_QUORUM": "-1"}, "BATTRACE_WITNESS_QUORUM", "greater than or equal to 0"),
        ({"BATTRACE_WITNESS_TIMEOUT_S": "0"}, "BATTRACE_WITNESS_TIMEOUT_S", "greater than 0"),
    ],
    ids=["no-key", "key-id", "base64", "scheme", "no-host", "quorum-above-witnesses", "negative-quorum", "timeout"],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str, said: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(click.UsageError) as raised:
        settings_or_exit()
    message = raised.value.message
    assert "\n" not in message and f"{named}:" in message and said in message, message


def test_a_key_whose_id_does_not_match_is_named_when_the_keys_are_read(tmp_path) -> None:
    name, _, rest = K1.partition("+")
    forged = f"{name}+{'0' * 8}+{rest.split('+', 1)[1]}"  # the shape is right, the key ID is not this key's
    settings = Settings(home=tmp_path, witnesses=f"{forged} http://w1.example")
    with pytest.raises(KeyConfigError, match="BATTRACE_WITNESSES: key ID does not match"):
        KeyRing(settings).witnesses()
