"""The demo account and webinar that `tribune serve --demo` creates once and reuses."""

from __future__ import annotations

import msgspec

from room import events as ev
from room import keys
from room.accounts import logins, users
from room.accounts.account import create_account, get_account
from room.permissions import Action, can
from room.records import Invitation, Plan
from room.types import Role
from signaling.context import Tribune


class Demo(msgspec.Struct):
    api_key: str
    account_id: str
    event_id: str
    invitations: dict[str, str]
    """role -> invitation id"""
    owner_id: str = ""
    """The demo organizer's dashboard user (the account's owner)."""


class DemoLinks(msgspec.Struct):
    """What `serve --demo` prints (as JSON with `--json`)."""

    api_key: str
    event_id: str
    links: dict[str, str]
    """Role (and `manage`) -> the link that opens its page; `dashboard`: a one-time
    sign-in link (15 minutes) of the demo organizer into the dashboard."""


DEMO_ORGANIZER = "organizer@demo.example.com"
"""The demo organizer's e-mail: the owner user of the demo account."""

DEMO_ROLES: list[tuple[Role, str, bool, str]] = [
    (Role.ORGANIZER, "Demo Organizer", False, ""),
    # With an e-mail: ending the demo mails the presenter's thank-you (see the outbox).
    (Role.PRESENTER, "Demo Presenter", False, "presenter@demo.example.com"),
    (Role.PARTICIPANT, "", True, ""),
    (Role.COLLABORATOR, "Demo Collaborator", False, ""),
    (Role.SCREEN, "Second screen", True, ""),
]


async def demo_owner(t: Tribune, demo: Demo) -> users.User:
    """The demo organizer's dashboard user, made once (the owner of the demo account)."""
    user = await users.get_user(t.store, demo.owner_id) if demo.owner_id else None
    if user is not None:
        return user
    stale = await users.user_by_email(t.store, DEMO_ORGANIZER)
    if stale is not None:  # of an earlier demo account whose event is gone
        await users.forget_user(t.store, stale)
    account = await get_account(t.store, demo.account_id)
    return await users.create_user(
        t.store, account, DEMO_ORGANIZER, "Demo Organizer", users.UserKind.ORGANIZER, owner=True
    )


async def ensure_demo(t: Tribune) -> DemoLinks:
    """Create the demo once (kept across restarts so printed links stay valid); return links."""
    raw = await t.store.get(keys.DEMO)
    demo = msgspec.msgpack.decode(raw, type=Demo) if raw else None
    if demo is not None:
        try:
            await ev.load_event(t.store, demo.event_id)
        except Exception:
            demo = None
    if demo is None:
        account, api_key = await create_account(t.store, "Demo account", Plan())
        event = await ev.create_event(
            t.store, account, ev.EventCreate(title="Tribune demo webinar")
        )
        invs = {}
        for role, name, shared, email in DEMO_ROLES:
            inv = await ev.invite(
                t.store,
                event,
                ev.InvitationCreate(role=role, name=name, shared=shared, email=email),
            )
            invs[role.value] = inv.id
        demo = Demo(api_key=api_key, account_id=account.id, event_id=event.id, invitations=invs)
    if not demo.owner_id:
        demo.owner_id = (await demo_owner(t, demo)).id
        await t.store.set(keys.DEMO, msgspec.msgpack.encode(demo))
    links: dict[str, str] = {}
    for role_name, inv_id in demo.invitations.items():
        link_inv: Invitation = await ev.load_invitation(t.store, demo.event_id, inv_id)
        token = t.tokens.sign_invitation(link_inv)
        links[role_name] = t.url_for(link_inv, token)
        # One manager link is printed: the one of who runs the event (edits it).
        if can(link_inv.role, Action.EDIT_EVENT):
            links["manage"] = t.url_for(link_inv, token, page="manage")
    magic = await logins.issue_magic_link(t.store, await demo_owner(t, demo))
    links["dashboard"] = f"{t.config.base_url}/login#magic={magic}"
    return DemoLinks(api_key=demo.api_key, event_id=demo.event_id, links=links)
