"""The demo's witness: a separate party with a home and key of its own, under the demo's home.

The witness pins the operator's log key for every per-partition log (``<origin>/``). Its key is kept from one demo
to the next (a witness keeps its identity); what it remembers of the logs is not, because each demo starts a new
store whose logs reuse the same origins, which a witness that remembered the old ones would rightly refuse as forks.
"""

from __future__ import annotations

import shutil

from battrace.keys import KeyRing
from battrace.settings import Settings
from battrace.stack.witness import WitnessHome, WitnessHomeError, forget_heads
from battrace.tlog.cosignature import WitnessKey

NAME = "witness.demo/w1"


def demo_witness(settings: Settings) -> tuple[WitnessHome, WitnessKey]:
    """The demo witness's home (created, or reused with its tree heads forgotten) and its verifier key."""
    home = WitnessHome(settings.home / "witness")
    log_key = KeyRing(settings).signers()[0].verifier()
    prefix = f"{settings.log_origin}/"
    try:
        pinned = home.log_keys().get(prefix, [])
        if log_key.to_key() in {v.to_key() for v in pinned}:
            forget_heads(home)
            return home, home.cosigner().key()
    except WitnessHomeError:
        pass  # missing or unusable: the demo makes a new one
    shutil.rmtree(home.path, ignore_errors=True)
    return home, home.init(NAME, {prefix: log_key.to_key()}).key()
