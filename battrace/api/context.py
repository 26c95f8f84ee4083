"""What every request needs, built once per app: settings, the read-only client and the trusted keys."""

from __future__ import annotations

from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client
from fastapi import Request

from battrace.settings import Settings
from battrace.tlog import Verifier
from battrace.verify.checkpoint_proofs import CheckpointProofs


@dataclass(frozen=True)
class ApiContext:
    settings: Settings
    client: Client
    verifiers: tuple[Verifier, ...]  # read at start-up, like the workers: a rotated key needs a restart
    report_keys: dict[str, list[Verifier]] = field(default_factory=dict)  # role -> pinned report keys (start-up)
    proofs: CheckpointProofs = field(default_factory=CheckpointProofs)  # checkpoints' trees and heads, between bundles

    @property
    def trusted_keys(self) -> list[str]:
        return [v.to_key() for v in self.verifiers]


def get_context(request: Request) -> ApiContext:
    return request.app.state.context
