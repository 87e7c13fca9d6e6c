"""The demo account and webinar that `tribune serve --demo` creates once and reuses."""

from __future__ import annotations

import msgspec

from room import events as ev
from room import keys
from room.accounts.account import create_account
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


class DemoLinks(msgspec.Struct):
    """What `serve --demo` prints (as JSON with `--json`)."""

    api_key: str
    event_id: str
    links: dict[str, str]
    """Role (and `manage`) -> the link that opens its page."""


DEMO_ROLES: list[tuple[Role, str, bool]] = [
    (Role.ORGANIZER, "Demo Organizer", False),
    (Role.PRESENTER, "Demo Presenter", False),
    (Role.PARTICIPANT, "", True),
    (Role.COLLABORATOR, "Demo Collaborator", False),
    (Role.SCREEN, "Second screen", True),
]


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
        for role, name, shared in DEMO_ROLES:
            inv = await ev.invite(
                t.store, event, ev.InvitationCreate(role=role, name=name, shared=shared)
            )
            invs[role.value] = inv.id
        demo = Demo(api_key=api_key, account_id=account.id, event_id=event.id, invitations=invs)
        await t.store.set(keys.DEMO, msgspec.msgpack.encode(demo))
    links: dict[str, str] = {}
    for role_name, inv_id in demo.invitations.items():
        link_inv: Invitation = await ev.load_invitation(t.store, demo.event_id, inv_id)
        token = t.tokens.sign_invitation(link_inv)
        links[role_name] = t.url_for(link_inv, token)
        # One manager link is printed: the one of who runs the event (edits it).
        if can(link_inv.role, Action.EDIT_EVENT):
            links["manage"] = t.url_for(link_inv, token, page="manage")
    return DemoLinks(api_key=demo.api_key, event_id=demo.event_id, links=links)
