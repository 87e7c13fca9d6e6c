"""Wire Structs of sign-in and the account's users over HTTP: bodies and the "me" view."""

from __future__ import annotations

from typing import Annotated

import msgspec

from room.accounts.passwords import MAX_PASSWORD
from room.accounts.users import UserKind, UserView

EmailText = Annotated[str, msgspec.Meta(max_length=320)]
NameText = Annotated[str, msgspec.Meta(max_length=200)]
Password = Annotated[str, msgspec.Meta(max_length=MAX_PASSWORD)]
TokenText = Annotated[str, msgspec.Meta(max_length=200)]


GivenPassword = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD)]
"""A password typed to sign in: an empty one is refused before it costs an attempt."""


class LoginForm(msgspec.Struct, forbid_unknown_fields=True):
    email: EmailText
    password: GivenPassword


class MagicRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: EmailText


class MagicConsume(msgspec.Struct, forbid_unknown_fields=True):
    token: TokenText


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    password: Password
    current: Password | None = None


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    email: EmailText
    name: NameText = ""
    kind: UserKind = UserKind.ORGANIZER
    password: Password | None = None


class AccountRef(msgspec.Struct):
    id: str
    name: str


class Me(msgspec.Struct):
    """Who is signed in, his account, and the actions the account pages allow him."""

    user: UserView | None
    """Null for the account's API key."""
    account: AccountRef
    can: list[str]
