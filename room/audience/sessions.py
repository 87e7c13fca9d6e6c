"""Sessions: one record per connection to an event, and the attendances they merge into (R-STAT-2).

A session opens when a connection is admitted to `/room` and closes when it
drops, when its identity leaves for good, or when the event ends. A person who
reconnects has several sessions; `attendances` merges them per identity into
one attendance with its intervals, so nobody is counted twice.

Store layout (per event): a hash of records by session id, a list of the ids
in the order they opened (so exports page through them without loading all),
and a hash of the sessions still open, by connection id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import msgspec

from room import keys, lifecycle
from room.events import load_event
from room.permissions import ATTENDEE_ROLE
from room.records import new_id, now
from room.store import Store
from room.types import Role

PAGE = 1000
"""Records read per store call when paging through an event's sessions."""


class SessionKind(StrEnum):
    """How a session watched the event: in the live room or a recording afterwards."""

    LIVE = "live"
    REPLAY = "replay"


class SessionRecord(msgspec.Struct, array_like=True, gc=False):
    """One connection. Encoded as a msgpack array: 100,000 of them stay small and fast."""

    id: str
    identity: str
    name: str
    email: str
    ip: str
    language: str
    """Primary language subtag from Accept-Language (`fr`, `en`), or "" when unknown."""
    country: str
    """ISO country code from the GeoIP database, or "" when unknown or not configured."""
    start: float
    end: float | None = None
    format: SessionKind = SessionKind.LIVE
    role: Role = ATTENDEE_ROLE

    def duration(self, until: float) -> float:
        """Seconds connected; an open session counts up to `until`."""
        end = self.end if self.end is not None else until
        return max(0.0, end - self.start)


class Visit(msgspec.Struct, array_like=True, gc=False):
    """What statistics need of a closed session, appended once when it closes: reading
    100,000 of these is a list read of half the bytes of the full records."""

    identity: str
    start: float
    end: float
    format: SessionKind
    language: str
    country: str


_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder(SessionRecord)
_visit_dec = msgspec.msgpack.Decoder(Visit)


def primary_language(accept_language: str) -> str:
    """The preferred language's primary subtag from an Accept-Language header (RFC 9110 12.5.4)."""
    best, best_q = "", -1.0
    for part in accept_language.split(",")[:32]:
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag or tag == "*":
            continue
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                continue
        if q > best_q:
            best, best_q = tag, q
    primary = best.split("-", 1)[0]
    return primary if primary.isalpha() and len(primary) <= 8 else ""


async def open_session(
    store: Store,
    event_id: str,
    connection: str,
    identity: str,
    *,
    name: str = "",
    email: str = "",
    ip: str = "",
    language: str = "",
    country: str = "",
    format: SessionKind = SessionKind.LIVE,
    role: Role = ATTENDEE_ROLE,
    at: float | None = None,
) -> SessionRecord:
    """Record that `connection` of `identity` started watching the event."""
    record = SessionRecord(
        id=new_id("ses"),
        identity=identity,
        name=name[:200],
        email=email[:320],
        ip=ip[:64],
        language=language[:16],
        country=country[:8],
        start=now() if at is None else at,
        format=format,
        role=role,
    )
    await store.hset(keys.sessions(event_id), record.id, _enc.encode(record))
    await store.rpush(keys.session_order(event_id), record.id.encode())
    await store.hset(keys.open_sessions(event_id), connection, f"{record.id}\n{identity}".encode())
    return record


async def _close(store: Store, event_id: str, session_id: str, at: float) -> SessionRecord | None:
    raw = await store.hget(keys.sessions(event_id), session_id)
    if raw is None:
        return None
    record = _dec.decode(raw)
    if record.end is None:
        record.end = max(record.start, at)
        await store.hset(keys.sessions(event_id), session_id, _enc.encode(record))
        visit = Visit(
            record.identity,
            record.start,
            record.end,
            record.format,
            record.language,
            record.country,
        )
        await store.rpush(keys.visits(event_id), _enc.encode(visit))
    return record


async def close_connection(
    store: Store, event_id: str, connection: str, at: float | None = None
) -> SessionRecord | None:
    """The connection dropped: close its session. Whoever deletes the open entry closes it,
    so the disconnect, the identity's departure and the event's end never race."""
    raw = await store.hget(keys.open_sessions(event_id), connection)
    if raw is None or not await store.hdel(keys.open_sessions(event_id), connection):
        return None
    session_id = raw.decode().partition("\n")[0]
    return await _close(store, event_id, session_id, now() if at is None else at)


async def close_identity(
    store: Store, event_id: str, identity: str, at: float | None = None
) -> list[SessionRecord]:
    """Close every open session of one identity (it left for good, or was removed)."""
    out = []
    for connection, raw in (await store.hgetall(keys.open_sessions(event_id))).items():
        if raw.decode().partition("\n")[2] == identity:
            closed = await close_connection(store, event_id, connection, at)
            if closed is not None:
                out.append(closed)
    return out


async def close_if_ended(store: Store, event_id: str, connection: str) -> bool:
    """A session opened while the event was ending (its connection was admitted just before
    the end, and recorded just after `close_all` ran) closes at the event's end, like the
    others; True when it was closed."""
    event = await load_event(store, event_id)
    if not lifecycle.is_ended(event):
        return False
    return await close_connection(store, event_id, connection, event.ended_at) is not None


async def close_all(store: Store, event_id: str, at: float | None = None) -> int:
    """Close every open session (the event ended); returns how many were closed."""
    count = 0
    for connection in await store.hgetall(keys.open_sessions(event_id)):
        if await close_connection(store, event_id, connection, at) is not None:
            count += 1
    return count


async def all_sessions(store: Store, event_id: str) -> list[SessionRecord]:
    """Every session of the event in one read (statistics); unordered."""
    raws = (await store.hgetall(keys.sessions(event_id))).values()
    return [_dec.decode(r) for r in raws]


async def visits(store: Store, event_id: str) -> list[Visit | SessionRecord]:
    """Every session as statistics need it: the closed ones from the visits list, and the
    ones still open (a few, at most the people connected) from their records."""
    closed: list[Visit | SessionRecord] = [
        _visit_dec.decode(r) for r in await store.lrange(keys.visits(event_id))
    ]
    still_open = await store.hgetall(keys.open_sessions(event_id))
    open_ids = [v.decode().partition("\n")[0] for v in still_open.values()]
    for raw in await store.hmget(keys.sessions(event_id), open_ids) if open_ids else []:
        if raw is not None:
            record = _dec.decode(raw)
            if record.end is None:  # closed meanwhile: its visit is in the list already
                closed.append(record)
    return closed


async def count(store: Store, event_id: str) -> int:
    return await store.hlen(keys.sessions(event_id))


async def pages(
    store: Store, event_id: str, page: int = PAGE
) -> AsyncIterator[list[SessionRecord]]:
    """The sessions in the order they opened, `page` at a time (exports stay flat in memory)."""
    start = 0
    while True:
        ids = await store.lrange(keys.session_order(event_id), start, start + page - 1)
        if not ids:
            return
        raws = await store.hmget(keys.sessions(event_id), [i.decode() for i in ids])
        yield [_dec.decode(r) for r in raws if r is not None]
        start += len(ids)


async def slice_of(store: Store, event_id: str, offset: int, limit: int) -> list[SessionRecord]:
    """One page of the sessions list (newest last)."""
    ids = await store.lrange(keys.session_order(event_id), offset, offset + limit - 1)
    raws = await store.hmget(keys.sessions(event_id), [i.decode() for i in ids])
    return [_dec.decode(r) for r in raws if r is not None]


# -- attendances ---------------------------------------------------------------------


@dataclass
class Attendance:
    """One identity's presence at an event: its sessions merged into disjoint intervals."""

    identity: str
    name: str
    email: str
    intervals: list[tuple[float, float]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(b - a for a, b in self.intervals)


def merge(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Disjoint, sorted intervals covering the same time; touching ones join."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def attendances(records: Iterable[SessionRecord], until: float) -> dict[str, Attendance]:
    """Merge sessions per identity (reconnects count once); open sessions run to `until`."""
    spans: dict[str, list[tuple[float, float]]] = {}
    first: dict[str, SessionRecord] = {}
    for r in records:
        end = r.end if r.end is not None else max(r.start, until)
        spans.setdefault(r.identity, []).append((r.start, end))
        seen = first.get(r.identity)
        if seen is None or r.start < seen.start:
            first[r.identity] = r
    return {
        ident: Attendance(ident, first[ident].name, first[ident].email, merge(s))
        for ident, s in spans.items()
    }


async def identities(store: Store, event_id: str) -> set[str]:
    """Everyone who ever connected to the event (its recorded sessions)."""
    raws = (await store.hgetall(keys.sessions(event_id))).values()
    return {_dec.decode(raw).identity for raw in raws}
