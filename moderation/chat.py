"""Room chat and its moderation (R-QA-5): send, delete, mute, turn a message into a question."""

from __future__ import annotations

import msgspec
from msgspec.structs import asdict

from moderation import audit, keys, questions
from moderation.items import ChatMessage
from moderation.limits import LIMITS, Limits
from moderation.outcome import Notice, Outcome, Removed
from moderation.text import clean
from room import changes, client_ids, lifecycle, ratelimit
from room.changes import Audience, Change
from room.errors import Code, TribuneError, forbidden, not_found
from room.events import load_event
from room.permissions import Action, can, is_staff
from room.presence.roster import get_person
from room.records import Person, new_id, now, to_wire
from room.store import Store

_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder(ChatMessage)


class PublicMessage(msgspec.Struct):
    id: str
    name: str
    text: str
    at: float
    staff: bool
    """Sent by a member of staff (pages mark it)."""


class StaffMessage(PublicMessage):
    author: str
    """The sender's identity: staff may mute him."""


class PublicLine(PublicMessage):
    """A message in a participant's snapshot."""

    mine: bool


class StaffLine(StaffMessage):
    """A message in a member of staff's snapshot."""

    mine: bool


class MessageAck(msgspec.Struct):
    message: PublicMessage


class MuteAck(msgspec.Struct):
    person: str
    muted: bool


class MutedNotice(msgspec.Struct):
    """The `chat.muted` notice to the person concerned."""

    muted: bool
    rev: int


def public_view(m: ChatMessage) -> PublicMessage:
    return PublicMessage(id=m.id, name=m.name, text=m.text, at=m.at, staff=m.staff)


def staff_view(m: ChatMessage) -> StaffMessage:
    return StaffMessage(
        id=m.id, name=m.name, text=m.text, at=m.at, staff=m.staff, author=m.author
    )


async def recent(
    store: Store, event_id: str, viewer: Person, limits: Limits = LIMITS
) -> list[StaffLine] | list[PublicLine]:
    """The last messages, oldest first, as `viewer` sees them (`mine` marks his own)."""
    ids = [m for m, _ in await store.zrange(keys.chat_order(event_id), -limits.chat_history, -1)]
    raws = await store.hmget(keys.chat(event_id), ids)
    found = [_dec.decode(raw) for raw in raws if raw is not None]
    me = viewer.identity
    if is_staff(viewer.role):
        return [StaffLine(**asdict(staff_view(m)), mine=m.author == me) for m in found]
    return [PublicLine(**asdict(public_view(m)), mine=m.author == me) for m in found]


async def muted(store: Store, event_id: str) -> list[str]:
    return sorted(await store.hgetall(keys.chat_muted(event_id)))


async def is_muted(store: Store, event_id: str, identity: str) -> bool:
    return await store.hget(keys.chat_muted(event_id), identity) is not None


async def _sent_before(store: Store, event_id: str, mid: str) -> Outcome | None:
    """The answer to a retried send whose message exists: that message, nothing new (put
    in the chat's order if the first try died before it could)."""
    raw = await store.hget(keys.chat(event_id), mid)
    if raw is None:
        return None
    m = _dec.decode(raw)
    await store.zadd(keys.chat_order(event_id), m.id, m.seq, nx=True)
    return Outcome(ack=MessageAck(public_view(m)))


async def send(
    store: Store,
    event_id: str,
    who: Person,
    text: str,
    limits: Limits = LIMITS,
    cid: str | None = None,
) -> Outcome:
    """Send a message (at most `chat_per_event` in the event, staff's too). A retry with
    the same client id `cid` answers the message the first try sent (`room.client_ids`)."""
    text = clean(text, limits.chat_length, "text", "message")
    moderator = can(who.role, Action.MODERATE_CHAT)
    if not moderator:
        lifecycle.require_open(await load_event(store, event_id))
        if await is_muted(store, event_id, who.identity):
            raise forbidden("a moderator muted your chat")
    mid, first = await client_ids.claim(
        store, keys.chat_cids(event_id), cid, who.identity, new_id("m")
    )
    if not first and (again := await _sent_before(store, event_id, mid)) is not None:
        return again
    if (
        first  # a retry's message was counted by its first try
        and not moderator
        and not await ratelimit.take(
            store, keys.chat_throttle(event_id), who.identity, limits.chat_rate
        )
    ):
        raise TribuneError(Code.RATE_LIMITED, "you are sending messages too fast")
    m = ChatMessage(
        id=mid,
        seq=await store.incr(keys.chat_seq(event_id)),
        author=who.identity,
        name=who.name,
        text=text,
        at=now(),
        staff=is_staff(who.role),
    )
    cap = limits.chat_per_event
    added = await store.hsetnx_capped(keys.chat(event_id), m.id, _enc.encode(m), cap)
    if added is None:
        raise TribuneError(
            Code.LIMIT_REACHED, f"this event has reached its limit of {cap} messages"
        )
    if not added:  # a concurrent retry of the same client id wrote it first
        again = await _sent_before(store, event_id, mid)
        if again is None:  # and a moderator deleted it since
            raise not_found("message")
        return again
    await store.zadd(keys.chat_order(event_id), m.id, m.seq)
    change = await changes.record(
        store,
        Change(
            event_id=event_id,
            name="chat.message",
            payloads={
                Audience.STAFF: {"message": to_wire(staff_view(m))},
                Audience.AUDIENCE: {"message": to_wire(public_view(m))},
            },
        ),
    )
    return Outcome(changes=[change], ack=MessageAck(public_view(m)))


async def get(store: Store, event_id: str, mid: str) -> ChatMessage:
    raw = await store.hget(keys.chat(event_id), mid)
    if raw is None:
        raise not_found("message")
    return _dec.decode(raw)


async def delete(store: Store, event_id: str, who: Person, mid: str) -> Outcome:
    """Delete a message: it disappears for everyone."""
    raw = await store.hget(keys.chat(event_id), mid)
    if raw is None or not await store.hcas(keys.chat(event_id), mid, raw, None):
        raise not_found("message")
    await store.zrem(keys.chat_order(event_id), mid)
    m = _dec.decode(raw)
    was = to_wire(staff_view(m))
    await audit.record(store, event_id, who, "chat.delete", f"message:{mid}", was, None)
    change = await changes.record(
        store,
        Change(
            event_id=event_id,
            name="chat.deleted",
            payloads={Audience.STAFF: {"id": mid}, Audience.AUDIENCE: {"id": mid}},
        ),
    )
    return Outcome(changes=[change], ack=Removed(mid))


async def mute(store: Store, event_id: str, who: Person, target: str, on: bool = True) -> Outcome:
    """Mute (or unmute) one person's chat in this event."""
    person = await get_person(store, event_id, target)
    if person is None:
        raise not_found("person")
    if can(person.role, Action.MODERATE_CHAT) or can(person.role, Action.BE_PROTECTED):
        raise forbidden(f"a {person.role.value} cannot be muted")
    if on:
        changed = await store.hsetnx(keys.chat_muted(event_id), target, str(now()).encode())
    else:
        changed = await store.hdel(keys.chat_muted(event_id), target)
    out = Outcome(ack=MuteAck(target, on))
    if not changed:
        return out
    await audit.record(
        store, event_id, who, "chat.mute" if on else "chat.unmute", f"person:{target}",
        {"muted": not on, "name": person.name}, {"muted": on, "name": person.name},
    )
    change = await changes.record(
        store,
        Change(
            event_id=event_id,
            name="chat.muted",
            payloads={Audience.STAFF: {"person": target, "name": person.name, "muted": on}},
        ),
    )
    out.changes.append(change)
    out.notices.append(Notice(target, "chat.muted", MutedNotice(on, change.rev)))
    return out


async def to_question(
    store: Store, event_id: str, who: Person, mid: str, limits: Limits = LIMITS
) -> Outcome:
    """Turn a chat message into a question in one action (once per message)."""
    m = await get(store, event_id, mid)
    event = await load_event(store, event_id)
    if not await store.hsetnx(keys.chat_asked(event_id), mid, b"1"):
        raise TribuneError(Code.CONFLICT, "this message is already a question", "id")
    try:
        return await questions.create_from(
            store,
            event,
            who,
            m.author,
            m.name,
            m.text,
            "chat.to_question",
            f"message:{mid}",
            limits,
        )
    except BaseException:
        await store.hdel(keys.chat_asked(event_id), mid)
        raise
