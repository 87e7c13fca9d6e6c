"""Wire Structs of the team routes: secondary accounts and the organizer's mailed
invitations (the account's users reuse `signaling.schemas.signin.UserCreate`)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from room.accounts.secondary import SecondaryView
from room.types import Role

EmailText = Annotated[str, msgspec.Meta(max_length=320)]
NameText = Annotated[str, msgspec.Meta(max_length=200)]
AccountName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class SecondaryCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: AccountName
    owner_email: EmailText


class SecondaryDelete(msgspec.Struct, forbid_unknown_fields=True):
    confirm: NameText
    """The secondary account's name, typed again: all its data will be erased."""


class SecondaryList(msgspec.Struct):
    secondary: list[SecondaryView]
    allowance: int
    """How many the main account may have now (the plan and its add-ons)."""


class SecondaryCreated(msgspec.Struct):
    account: SecondaryView
    api_key: str
    """The secondary account's own API key, shown once."""


class StaffInvite(msgspec.Struct, forbid_unknown_fields=True):
    role: Role
    email: EmailText
    name: NameText = ""


class MailedInvitation(msgspec.Struct):
    """A presenter or collaborator invitation mailed from the dashboard, with its current
    link (the older generations no longer open anything)."""

    id: str
    role: Role
    name: str
    email: str
    gen: int
    created: float
    link: str
