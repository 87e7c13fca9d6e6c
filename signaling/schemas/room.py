"""The room's wire Structs: the connect auth, `/room` payloads (roles, hands, removal, sync)
and their acks."""

from __future__ import annotations

from typing import Annotated

import msgspec

from room.changes import Payload
from room.records import PersonView
from room.types import EventState, Role

Token = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
Device = Annotated[str, msgspec.Meta(min_length=8, max_length=128)]
Name = Annotated[str, msgspec.Meta(max_length=200)]
PersonId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Rev = Annotated[int, msgspec.Meta(ge=0)]


class ConnectAuth(msgspec.Struct, forbid_unknown_fields=True):
    token: Token
    device: Device
    name: Name = ""
    rev: Rev | None = None
    identity: Token | None = None
    """A shared link's identity token (`identity.issued`); `device` no longer chooses it."""


class RoleSet(msgspec.Struct, forbid_unknown_fields=True):
    person: PersonId
    role: Role


class PersonRemove(msgspec.Struct, forbid_unknown_fields=True):
    person: PersonId
    ban: bool = False


class Sync(msgspec.Struct, forbid_unknown_fields=True):
    rev: Rev
    full: bool = False
    """Ask for a fresh snapshot whatever was missed."""


# -- acks -----------------------------------------------------------------------------


class EventStateAck(msgspec.Struct):
    state: EventState


class PersonAck(msgspec.Struct):
    person: PersonView | None
    """None when nobody was concerned."""


class Missed(msgspec.Struct):
    """One change a reconnecting client missed, as it would have received it."""

    event: str
    data: Payload


class Replay(msgspec.Struct):
    """`sync` when the log still holds what the client missed."""

    rev: int
    changes: list[Missed]


class Snapshot(msgspec.Struct):
    """`sync` when it does not (or a fresh one was asked for): the page's whole state."""

    rev: int
    snapshot: msgspec.Struct
    """The namespace's snapshot: the room's, the manager page's or the second screen's."""
