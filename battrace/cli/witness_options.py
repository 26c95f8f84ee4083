"""The witness cosignatures a reading command requires: from its options, else from the settings.

`battrace verify` and `battrace dashboard` (which runs the same checks before drawing) take the same answer.
"""

from __future__ import annotations

from typing import Any

import click

from battrace.cli.common import keyring


def witness_quorum(settings: Any, keys: tuple[str, ...], required: int | None) -> Any:
    """The witness cosignatures to require (a WitnessQuorum), or None when none are."""
    from battrace.keys import KeyConfigError
    from battrace.tlog import InvalidKeyError
    from battrace.tlog.cosignature import WitnessKey
    from battrace.verify.witness_quorum import QuorumConfigError, WitnessQuorum

    try:
        pinned = [WitnessKey.from_key(k) for k in keys] if keys else [k for k, _ in keyring(settings).witnesses()]
    except InvalidKeyError as exc:
        raise click.UsageError(f"--witness-key: {exc}; give the key `battrace witness key` prints") from None
    except KeyConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if required is None:
        required = settings.witness_quorum or (len({w.name for w in pinned}) if keys else 0)
    if required == 0:
        return None
    if not pinned:
        raise click.UsageError(
            f"{required} witness cosignatures required but no witness is pinned: give --witness-key or set "
            "BATTRACE_WITNESSES"
        )
    try:
        return WitnessQuorum.of(pinned, required)
    except QuorumConfigError as exc:
        raise click.UsageError(str(exc)) from None
