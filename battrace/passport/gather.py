"""Gather the facts of one battery's passport, only after ``battrace verify --battery`` passes for it.

The gate is the very check the command runs (battrace.verify.chains.verify): the battery's chain, its log entries
with inclusion proofs, every log's signed checkpoints, and the rows its passport shows (projection, decoded events,
carbon lines, flags, footprint, recycled content) recomputed from its sealed events. A battery that fails gets no
passport. The lots' composition and provenance are not read from the ``lots`` table (``verify --battery`` does not
compare it) but recomputed here from the lots' sealed events, as the verification recomputes them; the lots' chains
themselves are held to their logs by ``battrace verify --all``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from battrace.domain.entities import LOT, body_of, entity_key
from battrace.passport.facts import BatteryEvent, PassportFacts
from battrace.store import passport_rows
from battrace.tlog import Verifier
from battrace.verify.chains import verify
from battrace.verify.derived_audit import audited
from battrace.verify.derived_check import Recomputed


class UnknownBattery(LookupError):
    """The store has no record of this battery."""


@dataclass
class NotVerified(Exception):
    """``verify --battery`` failed for the battery: its passport cannot be built from verified data."""

    battery_id: str
    problems: list[str]

    def __str__(self) -> str:
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return (
            f"battery {self.battery_id} does not verify, so it gets no passport: {self.problems[0]}{more}; "
            f"run `battrace verify --battery {self.battery_id}` for every problem"
        )


def gather(client: Client, verifiers: Sequence[Verifier], battery_id: str, bundle: str) -> PassportFacts:
    """The verified facts of the battery's passport; ``bundle`` says where its offline bundle is.

    Raises UnknownBattery, or NotVerified naming the first problem."""
    length, head = passport_rows.chain_head(client, battery_id)
    row = passport_rows.projection(client, battery_id)
    if not length and row is None:
        raise UnknownBattery(f"no battery {battery_id} in this store")
    if not verifiers:
        raise NotVerified(battery_id, ["no verifier key to check the log checkpoints against"])
    report = verify(client, list(verifiers), battery_id)
    if not report.ok:
        problems = [
            f"{f['entity']}{'' if f['seq'] is None else ' seq ' + str(f['seq'])}: {f['problem']}"
            for f in report.failures
        ]
        raise NotVerified(battery_id, problems or ["nothing was checked"])
    if row is None or head is None:  # verify compares the projection: a verified battery has both
        raise NotVerified(battery_id, ["no projection or sealed chain"])
    is_audited = audited(client)
    return PassportFacts(
        battery_id=battery_id,
        chain_length=length,
        chain_head=head,
        bundle=bundle,
        projection=row,
        events=[
            BatteryEvent(e["kind"], int(e["time_ms"]), body_of(json.loads(e["payload"])), e["event_id"])
            for e in passport_rows.battery_events(client, battery_id)
        ],
        carbon_kg=passport_rows.carbon_by_stage(client, battery_id),
        audited=is_audited,
        footprint=passport_rows.footprint(client, battery_id) if is_audited else None,
        recycled=passport_rows.recycled(client, battery_id) if is_audited else [],
        flags=passport_rows.flags(client, battery_id),
        lots=_lots(client, list(row.get("lots") or ())),
    )


def _lots(client: Client, lot_ids: list[str]) -> dict[str, dict | None]:
    """Each lot's row as its sealed events give it (None: no lot row recomputes from them)."""
    if not lot_ids:
        return {}
    chains = passport_rows.lot_chains(client, lot_ids)
    event_ids = sorted({event_id for chain in chains.values() for _, event_id, _ in chain})
    expected = Recomputed(chains, passport_rows.event_bytes(client, event_ids)).expected.of("lots")
    return {lot: (expected.get((lot,)) if entity_key(LOT, lot) in chains else None) for lot in lot_ids}
