"""Deliberately invalid messages, and where in a run they go.

Faults draw from their own random stream, so the valid story is the same whatever the invalid share:
an invalid message is slotted in between valid ones and never consumes story state. Each kind of fault
is built so that ``processors.validate`` rejects it with exactly the reason the simulator predicts.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from schemas.catalog import ASSAY_RESULT, LOGISTICS_EVENT, MES_EVENT, by_fingerprint
from schemas.codec import SINGLE_OBJECT_MAGIC, encode
from schemas.reasons import Reason
from streams import topics
from streams.simulator.story import PRODUCTS, battery_code, date_code

KINDS: tuple[Reason, ...] = (
    Reason.BAD_FRAMING,
    Reason.UNKNOWN_SCHEMA,
    Reason.UNDECODABLE,
    Reason.INVALID_BATTERY_CODE,
    Reason.OUT_OF_RANGE,
    Reason.INVALID_TIME,
    Reason.DUPLICATE,
)
RTC_RESET_MS = int(datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp() * 1000)  # a gateway's dead clock
_SOURCES = (topics.MES.name, topics.LOGISTICS.name, topics.ASSAY.name, topics.REGISTRY.name)


class Sent(Protocol):
    """What a fault needs of an earlier valid message (a SimEvent)."""

    topic: str
    key: bytes
    value: bytes
    event_id: str


@dataclass(frozen=True)
class Forged:
    reason: Reason
    topic: str
    key: bytes
    value: bytes
    timestamp_ms: int
    event_id: str  # "" when the bytes do not decode


class Plan:
    """Which positions of a run carry an invalid message, and of which kind.

    One slot per equal stretch of the run (so faults are spread out), kinds dealt in shuffled rounds
    (so every kind shows up once there are as many faults as kinds). Runs of 200+ events with a share of
    at least 2 % get at least one of each kind.
    """

    def __init__(self, events: int, share: float, rng: random.Random) -> None:
        n = round(events * share)
        if events >= 200 and share >= 0.02:
            n = max(n, len(KINDS))
        self._n, self._events, self._rng = min(n, events), events, rng
        self._k = 0
        self._deck: list[Reason] = []
        self._rounds = 0
        self._next = self._slot(0)

    def _slot(self, k: int) -> int:
        if k >= self._n:
            return -1
        return self._rng.randrange(k * self._events // self._n, (k + 1) * self._events // self._n)

    def _deal(self) -> Reason:
        if not self._deck:
            self._deck = list(KINDS)
            self._rng.shuffle(self._deck)
            if self._rounds == 0 and self._deck[-1] == Reason.DUPLICATE:  # a replay needs something to replay
                self._deck[-1], self._deck[0] = self._deck[0], self._deck[-1]
            self._rounds += 1
        return self._deck.pop()

    def kind_at(self, index: int) -> Reason | None:
        if index != self._next:
            return None
        self._k += 1
        self._next = self._slot(self._k)
        return self._deal()


class Forger:
    """Builds one invalid message of a given kind, plausible apart from its one defect."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._forged = 0

    def forge(self, kind: Reason, now_ms: int, recent: Sequence[Sent]) -> Forged:
        ts = now_ms + self.rng.randint(1, 500)
        if kind == Reason.DUPLICATE and recent:
            prev = self.rng.choice(recent)
            return Forged(kind, prev.topic, prev.key, prev.value, ts, prev.event_id)
        if kind in (Reason.UNKNOWN_SCHEMA, Reason.UNDECODABLE):
            topic, key, schema, record = self._sound(now_ms, recent)
            value = encode(schema, record)
            if kind == Reason.UNKNOWN_SCHEMA:
                value = value[:2] + self._unknown_fingerprint() + value[10:]
            elif self.rng.random() < 0.5:
                value = value[:11]  # header and one byte of the body
            else:
                value = value + b"\x02\x00\xff"  # trailing bytes after a complete record
            return Forged(kind, topic, key, value, ts, "")
        if kind == Reason.INVALID_BATTERY_CODE:
            topic, key, schema, record = self._commissioned(now_ms, self._bad_code(now_ms))
        elif kind == Reason.OUT_OF_RANGE:
            topic, key, schema, record = self._out_of_range(now_ms, recent)
        elif kind == Reason.INVALID_TIME:
            topic, key, schema, record = self._sound(now_ms, recent)
            record["event_time"] = RTC_RESET_MS - self.rng.randint(0, 86_400_000)
        else:  # bad framing (also the fallback for a replay with nothing to replay)
            return Forged(
                Reason.BAD_FRAMING, self.rng.choice(_SOURCES), _recent_key(recent), self._garbage(now_ms), ts, ""
            )
        return Forged(kind, topic, key, encode(schema, record), ts, record["event_id"])

    # --- building blocks ---------------------------------------------------------------------------

    def _event_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _code(self, now_ms: int) -> str:
        """A well-formed cell code no story battery has: serials from 9,000,000 up, beyond any day's output."""
        self._forged += 1
        day = date_code(datetime.fromtimestamp(now_ms / 1000, UTC).date())
        return battery_code("MJ1", "C", "E", "N5", "1Q0FAUL", day, 9_000_000 + self._forged % 1_000_000)

    def _bad_code(self, now_ms: int) -> str:
        good = self._code(now_ms)
        broken = self.rng.choice(
            (
                lambda c: c[:3] + "X" + c[4:],  # product type not P/M/C
                lambda c: c[:4] + "H" + c[5:],  # battery type outside A-G, Z
                lambda c: c[:15] + "D" + c[16:],  # month 13
                lambda c: c[:-1],  # 23 characters
                lambda c: c[:8] + c[8:14].lower() + c[14:],  # lower-case traceability code
            )
        )
        return broken(good)

    def _unknown_fingerprint(self) -> bytes:
        while True:
            fp = self.rng.getrandbits(64).to_bytes(8, "little")
            if fp not in by_fingerprint():
                return fp

    def _garbage(self, now_ms: int) -> bytes:
        choice = self.rng.randrange(3)
        if choice == 0:
            return b""
        if choice == 1:  # a producer configured for JSON
            return json.dumps({"event_id": self._event_id(), "event_time": now_ms, "kind": "EnergyUsed"}).encode()
        first = self.rng.choice([b for b in range(1, 256) if b != SINGLE_OBJECT_MAGIC[0]])
        return bytes([first]) + self.rng.randbytes(self.rng.randint(5, 60))

    def _mes(self, now_ms: int, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "event_id": self._event_id(),
            "event_time": now_ms - self.rng.randint(0, 3000),
            "tz_offset": "+08:00",
            "site_id": "CN-FJ-NINGDE-CELL",
            "line_id": "CELL-L1",
            "body": (f"battrace.mes.{kind}", body),
        }

    def _commissioned(self, now_ms: int, code: str, mass_kg: float = 2.46) -> tuple[str, bytes, str, dict[str, Any]]:
        record = self._mes(now_ms, "Commissioned", {
            "battery_id": code, "sgtin": None, "chemistry": "NCM", "model": "MJ-NCM811-P150", "capacity_ah": 150.0,
            "energy_kwh": 0.551, "mass_kg": mass_kg, "certification_number": "GB38031-MJ-C150-2025",
        })  # fmt: skip
        return topics.MES.name, code.encode(), MES_EVENT, record

    def _energy(self, now_ms: int, grid_factor: float = 0.47) -> tuple[str, bytes, str, dict[str, Any]]:
        code = self._code(now_ms)
        record = self._mes(now_ms, "EnergyUsed", {
            "battery_id": code, "step": "cell assembly and formation", "energy_kwh": 3.4,
            "grid_factor_kg_per_kwh": grid_factor,
        })  # fmt: skip
        return topics.MES.name, code.encode(), MES_EVENT, record

    def _position(
        self, now_ms: int, recent: Sequence[Sent], lat: float = 31.2
    ) -> tuple[str, bytes, str, dict[str, Any]]:
        key = _recent_key(recent, topics.LOGISTICS.name) or b"CONS-000001"
        record = {
            "event_id": self._event_id(),
            "event_time": now_ms - self.rng.randint(0, 3000),
            "tz_offset": "+08:00",
            "consignment_id": key.decode(),
            "body": (
                "battrace.logistics.Position",
                {"lat": lat, "lon": 121.4, "geofence": "NONE", "geofence_id": None},
            ),
        }
        return topics.LOGISTICS.name, key, LOGISTICS_EVENT, record

    def _assay(self, now_ms: int, nickel: float = 0.4856) -> tuple[str, bytes, str, dict[str, Any]]:
        lot_id = f"{PRODUCTS['ncm811'].gtin}.LOT-Q{self.rng.randrange(10**5):05d}"
        record = {
            "event_id": self._event_id(),
            "event_time": now_ms - self.rng.randint(0, 3000),
            "tz_offset": "+08:00",
            "lot_id": lot_id,
            "product": PRODUCTS["ncm811"].name,
            "lot_mass_kg": 250.0,
            "lab_id": "CN-LAB-001",
            "accreditation": "CNAS L5123",
            "certificate_ref": f"XMBT-2026-Q{self.rng.randrange(10**5):05d}",
            "sampled_at": now_ms - 86_400_000,
            "sample_lat": 28.97,
            "sample_lon": 118.87,
            "fractions": [{"element": "Ni", "fraction": nickel}, {"element": "Co", "fraction": 0.061}],
            "smelter_id": "CID003187",
            "mine_licences": ["PE 4960"],
            "origin_country": "CD",
            "refining_kgco2e_per_kg": 18.5,
            "recycled_pre_consumer": 0.0,
            "recycled_post_consumer": 0.0,
        }
        return topics.ASSAY.name, lot_id.encode(), ASSAY_RESULT, record

    def _sound(self, now_ms: int, recent: Sequence[Sent]) -> tuple[str, bytes, str, dict[str, Any]]:
        """A well-formed message of a random kind, to be broken afterwards."""
        choice = self.rng.randrange(4)
        if choice == 0:
            return self._commissioned(now_ms, self._code(now_ms))
        if choice == 1:
            return self._energy(now_ms)
        if choice == 2:
            return self._position(now_ms, recent)
        return self._assay(now_ms)

    def _out_of_range(self, now_ms: int, recent: Sequence[Sent]) -> tuple[str, bytes, str, dict[str, Any]]:
        choice = self.rng.randrange(4)
        if choice == 0:  # a scale reporting a negative weight
            return self._commissioned(now_ms, self._code(now_ms), mass_kg=-round(self.rng.uniform(0.5, 3.0), 3))
        if choice == 1:  # a percentage sent where a fraction belongs
            return self._assay(now_ms, nickel=round(self.rng.uniform(1.2, 60.0), 2))
        if choice == 2:  # a GPS fix with a corrupt latitude
            return self._position(now_ms, recent, lat=123.0 + round(self.rng.random(), 4))
        return self._energy(now_ms, grid_factor=round(self.rng.uniform(2.5, 900.0), 1))  # g instead of kg


def _recent_key(recent: Sequence[Sent], topic: str | None = None) -> bytes:
    for ev in reversed(recent):
        if topic is None or ev.topic == topic:
            return ev.key
    return b""


# --- hostile messages: not dealt into runs (the simulated story stays as it was); tests publish them on purpose ---

FAR_FUTURE_MS = int(datetime(3000, 1, 1, tzinfo=UTC).timestamp() * 1000)


def oversize_garbage(nbytes: int, now_ms: int, rng: random.Random) -> Forged:
    """``nbytes`` of bytes that are no message at all, on a source topic: rejected as oversize before decoding."""
    value = bytes([0x7B]) + rng.randbytes(nbytes - 1)  # "{": no framing battrace knows
    return Forged(Reason.OVERSIZE, topics.MES.name, b"HOSTILE-GARBAGE", value, now_ms, "")


def padded_event(
    nbytes: int, now_ms: int, rng: random.Random, reason: Reason | None = None, battery_id: str | None = None
) -> Forged:
    """A valid EnergyUsed event padded to about ``nbytes`` by random letters in its free-text step (LZ4 gains
    little on them, so its trace.chain pack is about three times as big); ``reason``: what its size should earn it
    (None: nothing, it is sealed). ``battery_id``: the battery it is about (default: a new one)."""
    topic, key, schema, record = Forger(rng)._energy(now_ms)
    if battery_id is not None:
        record["body"][1]["battery_id"], key = battery_id, battery_id.encode()
    pad = max(0, nbytes - len(encode(schema, record)))
    record["body"][1]["step"] = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz ", k=pad))
    return Forged(reason, topic, key, encode(schema, record), now_ms, record["event_id"])  # type: ignore[arg-type]


def late_event(battery_id: str, event_time_ms: int, published_ms: int, rng: random.Random) -> Forged:
    """A valid EnergyUsed event of an existing battery, dated ``event_time_ms`` (before the battery's own latest
    event) and published at ``published_ms``: sealed, and flagged ``arrived_late``."""
    topic, _, schema, record = Forger(rng)._energy(event_time_ms)
    record["event_time"] = event_time_ms
    record["body"][1]["battery_id"] = battery_id
    return Forged(None, topic, battery_id.encode(), encode(schema, record), published_ms, record["event_id"])  # type: ignore[arg-type]


def far_future_event(rng: random.Random) -> Forged:
    """A valid EnergyUsed event dated in the year 3000 by a producer that stamps its Kafka timestamp 3000 too."""
    topic, key, schema, record = Forger(rng)._energy(FAR_FUTURE_MS)
    record["event_time"] = FAR_FUTURE_MS
    return Forged(Reason.INVALID_TIME, topic, key, encode(schema, record), FAR_FUTURE_MS, record["event_id"])
