"""Which audience a request to ``GET /passport/{code}`` is served as: its bearer token, checked against hashes.

No token: the public. A token: the audience whose configured SHA-256 (``BATTRACE_PASSPORT_TOKENS``) it hashes to;
the server keeps hashes only, so a leaked configuration grants nothing. Every configured hash is compared in
constant time (``hmac.compare_digest``), all of them whatever matches, so timing does not tell which entry or how
much of it matched. A token that matches none, or a header that is not ``Bearer <token>``, is refused (401) rather
than served as the public: a caller who meant to prove an interest should learn that it did not work.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from battrace.api.errors import ApiError
from battrace.passport.access import PUBLIC

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="battery passport"'}


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def audience_of(authorization: str | None, grants: Sequence[tuple[str, str]]) -> str:
    """The audience of a request with this Authorization header; ``grants``: (audience, SHA-256 hex) pairs."""
    if authorization is None:
        return PUBLIC
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "bad_token",
            "the Authorization header is not `Bearer <token>`: send the passport token you were given, or no header "
            "for the public passport",
            headers=CHALLENGE,
        )
    digest = token_digest(token)
    granted = None
    for audience, expected in grants:
        if hmac.compare_digest(digest, expected) and granted is None:
            granted = audience
    if granted is None:
        raise ApiError(
            401,
            "bad_token",
            "this token grants no passport audience here: check it with the operator, or send no token for the "
            "public passport",
            headers=CHALLENGE,
        )
    return granted
