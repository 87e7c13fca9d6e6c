"""The second screen's link: one shared, read-only screen invitation per event, made on demand."""

from __future__ import annotations

from moderation import keys
from room import events as ev
from room import keys as room_keys
from room.errors import Code, TribuneError
from room.permissions import SCREEN_ROLE
from room.records import Event, Invitation
from room.store import Store


async def invitation(store: Store, event: Event) -> Invitation:
    """The event's screen invitation, created the first time a moderator asks for it."""
    for _ in range(5):
        raw = await store.get(keys.screen_link(event.id))
        if raw is not None:
            try:
                return await ev.load_invitation(store, event.id, raw.decode())
            except TribuneError:
                await store.delete(keys.screen_link(event.id))  # withdrawn: make a new one
                continue
        inv = await ev.invite(
            store, event, ev.InvitationCreate(role=SCREEN_ROLE, name="Second screen", shared=True)
        )
        if await store.set_nx(keys.screen_link(event.id), inv.id.encode()):
            return inv
        await store.hdel(room_keys.invitations(event.id), inv.id)  # another moderator won the race
    raise TribuneError(Code.CONFLICT, "the screen link is being changed; try again")
