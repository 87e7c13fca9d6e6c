"""Delivering what the domain did: `Change`s to the rooms of their audience, notices to one
person's connection, coalesced emits, and the replay of what a reconnecting client missed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any

import msgspec

from moderation.outcome import Ack, Outcome
from room import changes
from room.changes import Audience, Change
from room.errors import TribuneError
from room.permissions import audience_of, is_staff
from room.presence import leases, roster
from room.store import Store
from room.types import Role
from signaling.config import Config
from signaling.metrics import Metrics
from signaling.outage import OutageLog
from signaling.schemas.room import Missed
from signaling.socket.wire import Server

log = logging.getLogger(__name__)

ROOM = "/room"
"""Attendees and the stage: joining takes a seat."""
MANAGE = "/manage"
"""The staff's manager pages."""
SCREEN = "/screen"
"""The moderator second screens."""


def all_room(event_id: str) -> str:
    return f"ev:{event_id}"


def staff_room(event_id: str) -> str:
    return f"ev:{event_id}:staff"


def stats_room(event_id: str) -> str:
    """The /manage connections that watch the live statistics."""
    return f"ev:{event_id}:stats"


def audience_room(event_id: str) -> str:
    return f"ev:{event_id}:aud"


# Where each audience's payload goes: (namespace, room-name function)
TARGETS: dict[Audience, list[tuple[str, Callable[[str], str]]]] = {
    Audience.ALL: [(ROOM, all_room), (MANAGE, all_room), (SCREEN, all_room)],
    Audience.STAFF: [(ROOM, staff_room), (MANAGE, all_room)],
    Audience.AUDIENCE: [(ROOM, audience_room)],
    Audience.SCREEN: [(SCREEN, all_room)],
}


def wire(payload: Any) -> Any:
    """A payload as the Socket.IO packer takes it: Structs become plain maps and lists."""
    return msgspec.to_builtins(payload) if isinstance(payload, msgspec.Struct) else payload


class Fanout:
    """Sends to rooms and connections of this node's Socket.IO server (and, through its
    client manager, of every node)."""

    def __init__(
        self,
        sio: Server,
        store: Store,
        config: Config,
        background: Callable[[Awaitable[None]], None],
        forgotten: Callable[[str, str], Awaitable[None]],
    ) -> None:
        self.sio = sio
        self.store = store
        self.config = config
        self._background = background
        """Runs a coroutine soon without awaiting it (the hub keeps it alive)."""
        self._forgotten = forgotten
        """Called when a change says an identity left the event for good."""
        self._due: dict[Hashable, asyncio.TimerHandle] = {}
        self.outage = OutageLog(log, "this node's actions and pushes")
        """One log line when a store outage starts to fail this node's calls, one when it
        ends (`signaling.outage`)."""
        self.metrics = Metrics()
        """This node's figures for `/metrics` (`signaling.metrics`)."""
        self.outage.on_failure.append(self.metrics.store_errors.inc)
        sio.on_slow_consumer.append(self.metrics.slow_consumers.inc)

    def stop(self) -> None:
        for handle in self._due.values():
            handle.cancel()
        self._due.clear()

    def coalesce(self, key: Hashable, delay: float, fn: Callable[[], Awaitable[None]]) -> None:
        """Run `fn` once, `delay` seconds after the first call for `key`; calls in between
        fold into that one. Pending runs are cancelled when the hub stops."""
        if key in self._due:
            return

        def fire() -> None:
            self._due.pop(key, None)
            self._background(fn())

        self._due[key] = asyncio.get_running_loop().call_later(delay, fire)

    async def changes(self, items: Iterable[Change]) -> None:
        """Send each change's payloads to the rooms of their audiences."""
        for change in items:
            if change.name.startswith("roster."):
                self._count_soon(change.event_id)
            identity = roster.left_identity(change)
            if identity is not None:
                await self._forgotten(change.event_id, identity)
            for audience, payload in change.payloads.items():
                for namespace, room_of in TARGETS[audience]:
                    self.metrics.fanout.labels(namespace).inc()
                    await self.sio.emit(
                        change.name, payload, room=room_of(change.event_id), namespace=namespace
                    )

    async def outcome(self, event_id: str, out: Outcome) -> Ack:
        """Fan a moderation outcome's changes out, send its notices to their person's room
        connection, and return the ack's fields."""
        await self.changes(out.changes)
        for notice in out.notices:
            await self.notify(event_id, notice.identity, notice.name, notice.payload)
        return out.ack

    async def emit_to(self, sid: str, name: str, payload: Any, namespace: str = ROOM) -> None:
        self.metrics.fanout.labels(namespace).inc()
        await self.sio.emit(name, wire(payload), to=sid, namespace=namespace)

    async def emit_room(self, event_id: str, name: str, payload: Any, namespace: str) -> None:
        """Send to every connection of the event in one namespace."""
        self.metrics.fanout.labels(namespace).inc()
        await self.sio.emit(name, wire(payload), room=all_room(event_id), namespace=namespace)

    async def close(self, sid: str, namespace: str, err: TribuneError) -> None:
        """Tell a connection, wherever it is, that what it was admitted with no longer
        holds (`revoked {code, message}`), then close it."""
        await self.emit_to(sid, "revoked", err.to_wire(), namespace)
        await self.sio.disconnect(sid, namespace=namespace)

    def close_soon(self, sid: str, namespace: str, err: TribuneError) -> None:
        """`close`, after the ack being sent has gone."""
        self._background(self.close(sid, namespace, err))

    async def notify(self, event_id: str, identity: str, name: str, payload: Any) -> None:
        """Send to one person's room connection, wherever it is, if he is connected."""
        sid = await leases.connection_of(self.store, event_id, identity)
        if sid is not None:
            await self.emit_to(sid, name, payload, ROOM)

    async def set_rooms(self, sid: str, event_id: str, role: Role) -> None:
        """Put a /room connection in the event's room and its audience's room."""
        await self.sio.enter_room(sid, all_room(event_id), namespace=ROOM)
        mine, other = (staff_room, audience_room) if is_staff(role) else (audience_room, staff_room)
        await self.sio.enter_room(sid, mine(event_id), namespace=ROOM)
        await self.sio.leave_room(sid, other(event_id), namespace=ROOM)

    async def replay(self, event_id: str, role: Role, rev: int) -> tuple[int, list[Missed] | None]:
        """The current revision and what a client of `role` missed since `rev` (None when
        the log no longer has it)."""
        current, missed = await changes.since(self.store, event_id, rev)
        if missed is None:
            return current, None
        audience = audience_of(role)
        out = []
        for c in missed:
            data = c.payload_for(audience)
            if data is not None:
                out.append(Missed(c.name, data))
        return current, out

    def _count_soon(self, event_id: str) -> None:
        """Coalesce the head-count: one emit per event per `count_every` seconds, so
        1,000 joins cost about 1,000 small emits per second, not a million."""
        self.coalesce(
            ("roster.count", event_id), self.config.count_every, lambda: self._emit_count(event_id)
        )

    async def _emit_count(self, event_id: str) -> None:
        count = await roster.roster_count(self.store, event_id)
        rev = await changes.current_rev(self.store, event_id)
        for namespace in (ROOM, MANAGE):
            await self.emit_room(event_id, "roster.count", {"count": count, "rev": rev}, namespace)
