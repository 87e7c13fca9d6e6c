"""Revocation: whether what a connection was admitted with still holds, the one rule.

A connection holds while its event exists, its invitation is not withdrawn and still of
the generation it was opened with, and its identity is not banned. A collaborator taken
off an event loses his staff link (`room.accounts.users.remove_collaborator` withdraws
it), so membership is the invitation's existence.

Every revocation bumps the event's counter (`keys.revocations`). A connection remembers
the counter it last checked: an action costs one read of it, and the full check runs
only when it moved. The edge also sweeps the event's connections (`keys.sockets`, every
namespace, every node) right after a revocation and closes those that no longer hold.
"""

from __future__ import annotations

import msgspec

from room import keys
from room.errors import Code, TribuneError
from room.records import Invitation, decode, encode
from room.store import Store


class Holder(msgspec.Struct):
    """What one connection was admitted as."""

    inv: str
    gen: int
    identity: str
    namespace: str


def holder(inv: Invitation, identity: str, namespace: str) -> Holder:
    return Holder(inv.id, inv.gen, identity, namespace)


async def counter(store: Store, event_id: str) -> int:
    """The event's revocation counter (0 before the first revocation)."""
    raw = await store.get(keys.revocations(event_id))
    return 0 if raw is None else int(raw)


async def revoked(store: Store, event_id: str) -> int:
    """Note a revocation in the event: every connection re-checks on its next action."""
    return await store.incr(keys.revocations(event_id))


async def register(store: Store, event_id: str, sid: str, who: Holder) -> None:
    await store.hset(keys.sockets(event_id), sid, encode(who))


async def unregister(store: Store, event_id: str, sid: str) -> None:
    await store.hdel(keys.sockets(event_id), sid)


def _refusal(
    who: Holder, event_exists: bool, inv: Invitation | None, banned: bool
) -> TribuneError | None:
    if not event_exists:
        return TribuneError(Code.UNAUTHORIZED, "this event was deleted")
    if inv is None:
        return TribuneError(Code.UNAUTHORIZED, "this link was withdrawn")
    if inv.gen != who.gen:
        return TribuneError(Code.UNAUTHORIZED, "this link was re-issued; use the new one")
    if banned:
        return TribuneError(Code.BANNED, "you were removed from this event")
    return None


async def refusal(store: Store, event_id: str, who: Holder) -> TribuneError | None:
    """Why `who` no longer holds in the event (`unauthorized` or `banned`), or None."""
    exists = await store.hget(keys.EVENTS, event_id) is not None
    raw = await store.hget(keys.invitations(event_id), who.inv)
    inv = None if raw is None else decode(raw, Invitation)
    banned = await store.hget(keys.bans(event_id), who.identity) is not None
    return _refusal(who, exists, inv, banned)


async def require_current(store: Store, event_id: str, who: Holder) -> None:
    """Refuse (`unauthorized` / `banned`) unless `who` still holds."""
    err = await refusal(store, event_id, who)
    if err is not None:
        raise err


async def recheck(store: Store, event_id: str, who: Holder, seen: int) -> int:
    """Before an action: the counter now (one read), after the full check when it moved
    since `seen`; raises the refusal when `who` no longer holds."""
    now = await counter(store, event_id)
    if now != seen:
        await require_current(store, event_id, who)
    return now


async def sweep(store: Store, event_id: str) -> list[tuple[str, Holder, TribuneError]]:
    """Every registered connection of the event that no longer holds, with why: a few
    reads whatever the number of connections. Their records are dropped."""
    exists = await store.hget(keys.EVENTS, event_id) is not None
    held = await store.hgetall(keys.sockets(event_id))
    stored = await store.hgetall(keys.invitations(event_id))
    invs = {k: decode(v, Invitation) for k, v in stored.items()}
    bans = await store.hgetall(keys.bans(event_id))
    out: list[tuple[str, Holder, TribuneError]] = []
    for sid, raw in held.items():
        who = decode(raw, Holder)
        err = _refusal(who, exists, invs.get(who.inv), who.identity in bans)
        if err is not None:
            out.append((sid, who, err))
            await store.hdel(keys.sockets(event_id), sid)
    return out
