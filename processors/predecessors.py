"""A killed worker's place in its consumer groups, taken over by its successor instead of waited for.

A member killed without a LeaveGroup stays in its consumer group until its session expires, and the broker holds
the successor's join meanwhile: Apache Kafka waits for it in the rebalance. So each of the worker's group consumers
notes its member id under the worker's home, with the process that holds it, and a starting consumer of a group
whose noted member belongs to a process that no longer runs joins under that member id: the broker takes it for the
same member rejoining and forms the group at once. If the member has meanwhile expired, the broker answers
UNKNOWN_MEMBER_ID and aiokafka joins as a new member: what it would have done anyway. Further dead members of the
group (several workers killed at once) are sent a LeaveGroup. On the embedded Tansu none of this is done
(``before_join`` says why).

Only dead processes' members are taken: several workers may share a home (``battrace bench --workers N`` on
``memory://``), and a live member's id in another consumer would fence it. A process is the same one only if its
start time matches too (/proc/<pid>/stat), so a pid reused after a reboot or in a new container is not taken for the
one that noted the member. aiokafka has no option for the member id a consumer starts with: ``_take_over`` sets it
on the group coordinator aiokafka creates, for the groups this process took over (once each).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
from pathlib import Path

from battrace.settings import Settings
from processors.broker import embedded_tansu

log = logging.getLogger(__name__)

FIND_GROUP_COORDINATOR = 0  # FindCoordinator key type of a consumer group


def members_dir(settings: Settings) -> Path:
    return settings.home / "faust" / "members"


def _started(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), None if it is gone or a
    zombie (killed, not yet reaped: a killed worker's ingest child waits for its new parent to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the fields after the command name, which may hold spaces
    return None if fields[0] in ("Z", "X") else fields[19]


class MemberNote:
    """The member id one consumer of this process holds in ``group``, kept in a file of its own."""

    def __init__(self, settings: Settings, group: str) -> None:
        self._path = members_dir(settings) / f"{group}.{os.getpid()}.json"
        self._group = group
        self._noted: str | None = None

    def note(self, member_id: str) -> None:
        """Called whenever the consumer may have (re)joined: writes only when the id changed. The note is removed
        when the process exits normally: a consumer stopped in order has left its group, and only a killed one's
        member is there to take over."""
        if not member_id or member_id == self._noted:
            return
        if self._noted is None:
            atexit.register(self._path.unlink, missing_ok=True)
        pid = os.getpid()
        record = {"group": self._group, "member_id": member_id, "pid": pid, "started": _started(pid)}
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(self._path)
        self._noted = member_id


def dead_members(settings: Settings, group: str) -> list[tuple[Path, str]]:
    """(file, member id) of every member of ``group`` noted by a process that no longer runs."""
    found = []
    for path in sorted(members_dir(settings).glob(f"{group}.*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        pid, started = record.get("pid"), record.get("started")
        if record.get("group") != group or not isinstance(pid, int):
            continue
        if pid != os.getpid() and (_started(pid) is None or _started(pid) != started):
            found.append((path, str(record.get("member_id", ""))))
    return found


_taken_over: dict[str, str] = {}  # group -> the dead member id this process's next consumer of it joins as


def _take_over() -> None:
    """Make aiokafka's group coordinators start as the member taken over for their group (module docstring)."""
    from aiokafka.consumer.group_coordinator import GroupCoordinator

    if getattr(GroupCoordinator, "_battrace_takes_over", False):
        return
    original = GroupCoordinator.__init__

    def init(self: GroupCoordinator, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        member = _taken_over.pop(self.group_id, None)
        if member:
            self.member_id = member

    GroupCoordinator.__init__ = init  # type: ignore[method-assign]
    GroupCoordinator._battrace_takes_over = True  # type: ignore[attr-defined]


def take_over_dead(settings: Settings, group: str) -> str | None:
    """The member id of the group's newest member noted by a dead process, which this process's next consumer of
    the group joins as; its note is forgotten (the consumer notes itself once it joined)."""
    dead = dead_members(settings, group)
    if not dead:
        return None
    path, member = max(dead, key=lambda found: found[0].stat().st_mtime)
    path.unlink(missing_ok=True)
    if not member:
        return None
    _take_over()
    _taken_over[group] = member
    return member


async def leave_for_dead(settings: Settings, group: str, timeout_s: float = 5.0) -> int:
    """Send LeaveGroup for the group's members noted by dead processes, then forget them; how many were asked.

    Best effort: a broker that cannot be reached or refuses only costs the wait this saves (the join then waits out
    the session as before), so failures are logged, not raised."""
    dead = dead_members(settings, group)
    if not dead:
        return 0
    import asyncio

    from aiokafka.client import AIOKafkaClient
    from aiokafka.protocol.group import LeaveGroupRequest

    from streams.kafka_security import aiokafka_options

    client = AIOKafkaClient(bootstrap_servers=settings.kafka or "localhost:9092", **aiokafka_options(settings))
    left = 0
    try:
        async with asyncio.timeout(timeout_s):
            await client.bootstrap()
            node = await client.coordinator_lookup(FIND_GROUP_COORDINATOR, group)
            for path, member_id in dead:
                await client.send(node, LeaveGroupRequest(group, member_id))
                left += 1
                path.unlink(missing_ok=True)
    except Exception as exc:  # best effort (docstring)
        log.warning("could not ask %s's dead members to leave (%s): the join waits for their sessions", group, exc)
    finally:
        await client.close()
    return left


async def before_join(settings: Settings, group: str) -> None:
    """Take over the group's newest dead member and send any other dead ones away, before a consumer of it starts.

    Not on the embedded Tansu: it holds every JoinGroup that names a member for half the group's session timeout
    (whole seconds, a 1 s sleep per round of its join loop), the dead member's id included, so a take-over saves
    nothing there, and a join under a member that had meanwhile left could leave the group without an assignment;
    its dead members' notes are only forgotten."""
    if embedded_tansu(settings):
        for path, _ in dead_members(settings, group):
            path.unlink(missing_ok=True)
        return
    member = take_over_dead(settings, group)
    asked = await leave_for_dead(settings, group)
    if member or asked:
        log.info("%s: joining as dead member %s; %d other dead member(s) asked to leave", group, member, asked)


class Succession:
    """One consumer group's side of it: ``before_join`` sends the dead members away, ``joined`` notes this one."""

    def __init__(self, settings: Settings, group: str) -> None:
        self.settings = settings
        self.group = group
        self._note = MemberNote(settings, group)

    async def before_join(self) -> None:
        await before_join(self.settings, self.group)

    def joined(self, member_id: str) -> None:
        try:
            self._note.note(member_id)
        except OSError as exc:  # a read-only or full home: the next start waits out the session instead
            log.warning("could not note the member id of %s: %s", self.group, exc)
