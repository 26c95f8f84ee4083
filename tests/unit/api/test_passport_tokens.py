"""Bearer tokens of GET /passport/{code}: hashes in the setting, the audience they grant, refusals."""

from __future__ import annotations

import hashlib

import pytest
from pydantic import ValidationError

from battrace.api.errors import ApiError
from battrace.api.passport_access import audience_of
from battrace.cli.passport import AUDIENCES as CLI_AUDIENCES
from battrace.passport.access import AUDIENCES, RESTRICTED
from battrace.settings import PASSPORT_TOKEN_TIERS, Settings, parse_passport_tokens

RECYCLER, INSPECTOR = "recycler-token-1", "inspector-token-2"


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()  # what `printf %s TOKEN | sha256sum` prints


GRANTS = [("legitimate_interest", _sha(RECYCLER)), ("authority", _sha(INSPECTOR))]


def test_no_header_is_the_public() -> None:
    assert audience_of(None, GRANTS) == "public"


@pytest.mark.parametrize(("token", "audience"), [(RECYCLER, "legitimate_interest"), (INSPECTOR, "authority")])
def test_a_token_grants_the_audience_its_hash_is_configured_for(token: str, audience: str) -> None:
    assert audience_of(f"Bearer {token}", GRANTS) == audience
    assert audience_of(f"bearer  {token} ", GRANTS) == audience


@pytest.mark.parametrize(
    "header",
    [f"Bearer {RECYCLER}x", f"Bearer {_sha(RECYCLER)}", f"Basic {RECYCLER}", "Bearer", "Bearer  ", RECYCLER],
    ids=["wrong", "the-hash-itself", "basic", "no-token", "blank", "no-scheme"],
)
def test_anything_else_is_401_with_a_challenge(header: str) -> None:
    with pytest.raises(ApiError) as caught:
        audience_of(header, GRANTS)
    assert caught.value.status == 401 and caught.value.error == "bad_token" and "\n" not in caught.value.message
    assert caught.value.headers["WWW-Authenticate"].startswith("Bearer")
    assert RECYCLER not in caught.value.message


def test_no_token_is_granted_when_none_is_configured() -> None:
    with pytest.raises(ApiError):
        audience_of(f"Bearer {RECYCLER}", [])


def test_the_setting_holds_hashes_per_tier(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATTRACE_PASSPORT_TOKENS", f"legitimate_interest:{_sha(RECYCLER)}, authority:{_sha(INSPECTOR)}")
    assert Settings().passport_token_hashes == GRANTS


@pytest.mark.parametrize(
    "value",
    [f"public:{_sha(RECYCLER)}", "authority:abc", f"authority:{_sha(RECYCLER).upper()}", RECYCLER],
    ids=["public-needs-no-token", "short", "upper-case", "raw-token"],
)
def test_a_malformed_setting_is_refused_without_echoing_secrets(value: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_passport_tokens(value)
    assert RECYCLER not in str(caught.value) and "TIER:SHA256HEX" in str(caught.value)
    with pytest.raises(ValidationError):
        Settings(passport_tokens=value)


def test_tier_names_agree_across_layers() -> None:
    assert PASSPORT_TOKEN_TIERS == RESTRICTED and CLI_AUDIENCES == AUDIENCES
