"""The organizer's invitations from the dashboard (seed 002): a presenter or collaborator
invited to one event by personal e-mail gets a personal link by mail; the link can be
re-issued (a new generation: the older link stops working, and the new one is mailed) and
revoked (it opens nothing any more). Each step is noted in the event's activity log.

The edge signs the links (`link_of`) and, after a re-issue or a revocation, closes the
connections that no longer hold (`room.presence.revocation`)."""

from __future__ import annotations

from collections.abc import Callable

from room import events as ev
from room import keys
from room.audience import access, letters
from room.audience.outbox import Outbox
from room.audience.registration import normalize_email
from room.errors import invalid, not_found
from room.permissions import INVITED_BY_EMAIL
from room.presence import revocation
from room.records import Event, Invitation, decode
from room.store import Store
from room.types import Role

LinkOf = Callable[[Invitation], str]
"""The join link of an invitation (signed at the edge)."""


async def _mail(store: Store, outbox: Outbox, event: Event, inv: Invitation, link: str) -> None:
    subject, text = letters.staff_invited(event, inv, link)
    await outbox.enqueue(keys.invitation_mail(event.id, inv.id, inv.gen), inv.email, subject, text)


async def invite(
    store: Store,
    outbox: Outbox,
    event: Event,
    role: Role,
    email: str,
    name: str,
    by: str,
    link_of: LinkOf,
) -> Invitation:
    """A personal invitation of `role` for `email`, mailed with its link."""
    if role not in INVITED_BY_EMAIL:
        raise invalid(f"a {role.value} is not invited by e-mail", "role")
    email = normalize_email(email)
    inv = await ev.invite(
        store, event, ev.InvitationCreate(role=role, name=name.strip()[:200], email=email)
    )
    await store.hset(keys.mailed_invitations(event.id), inv.id, b"1")
    await access.log(store, event.id, by, "invitation.sent", f"{role.value} {email}")
    await _mail(store, outbox, event, inv, link_of(inv))
    return inv


async def mailed(store: Store, event_id: str) -> list[Invitation]:
    """The invitations mailed from the dashboard that still hold, oldest first."""
    ids = list(await store.hgetall(keys.mailed_invitations(event_id)))
    raws = await store.hmget(keys.invitations(event_id), ids)
    out = [decode(r, Invitation) for r in raws if r is not None]
    return sorted(out, key=lambda i: (i.created, i.id))


async def _own(store: Store, event_id: str, inv_id: str) -> None:
    if await store.hget(keys.mailed_invitations(event_id), inv_id) is None:
        raise not_found("invitation")


async def reissue(
    store: Store, outbox: Outbox, event: Event, inv_id: str, by: str, link_of: LinkOf
) -> Invitation:
    """A new link for the invitation, mailed; the older link stops working."""
    await _own(store, event.id, inv_id)
    inv = await ev.reissue(store, event, inv_id)
    await access.log(store, event.id, by, "invitation.reissued", inv.email)
    await _mail(store, outbox, event, inv, link_of(inv))
    return inv


async def revoke(store: Store, event: Event, inv_id: str, by: str) -> None:
    """Withdraw the invitation: its link opens nothing any more."""
    await _own(store, event.id, inv_id)
    inv = await ev.load_invitation(store, event.id, inv_id)
    await store.hdel(keys.invitations(event.id), inv_id)
    await store.hdel(keys.bindings(event.id), inv_id)
    await store.hdel(keys.mailed_invitations(event.id), inv_id)
    await revocation.revoked(store, event.id)
    await access.log(store, event.id, by, "invitation.revoked", inv.email)
