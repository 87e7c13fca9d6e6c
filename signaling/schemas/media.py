"""The stage's wire Structs: publish, stop, subscribe and answer; their acks and the
`media.tracks` and `media.stopped` payloads."""

from __future__ import annotations

from typing import Annotated

import msgspec

from room.stage import Source
from signaling.schemas.room import PersonId

Sdp = Annotated[str, msgspec.Meta(min_length=10, max_length=64 * 1024)]
Mid = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]


class Publish(msgspec.Struct, forbid_unknown_fields=True):
    sdp: Sdp
    sources: Annotated[dict[Mid, Source], msgspec.Meta(max_length=3)]
    """mid -> source: everything this person sends from now on."""


class Stop(msgspec.Struct, forbid_unknown_fields=True):
    source: Source


class StopOther(msgspec.Struct, forbid_unknown_fields=True):
    person: PersonId
    source: Source | None = None
    """None: everything he publishes."""


class Subscribe(msgspec.Struct, forbid_unknown_fields=True):
    pass


class Answer(msgspec.Struct, forbid_unknown_fields=True):
    sdp: Sdp


# -- acks and pushes ----------------------------------------------------------------------


class TrackView(msgspec.Struct):
    """A track on stage and the subscriber slot (`mid`) that carries it."""

    person: str
    source: str
    kind: str
    mid: str


class SlotView(msgspec.Struct):
    mid: str
    kind: str


class IceServerView(msgspec.Struct):
    urls: list[str]
    username: str | None
    credential: str | None


class SdpAck(msgspec.Struct):
    sdp: str


class SubscribeAck(msgspec.Struct):
    sdp: str
    slots: list[SlotView]
    tracks: list[TrackView]
    ice_servers: list[IceServerView]
    epoch: str = ""
    """The media owner's term: another value than last time means the media moved to
    another node, and a publishing page must publish again on a new connection."""


class Tracks(msgspec.Struct):
    """`media.tracks`: what is on stage now."""

    tracks: list[TrackView]


class Restart(msgspec.Struct):
    """`media.restart`: the event's media moved to another node (a failover or a drain);
    pages subscribe again, and publish again if they were publishing."""

    epoch: str


class Stopped(msgspec.Struct):
    """`media.stopped`: told to the person whose media was stopped, so his page stops sending."""

    source: Source | None
    by: str


class ActiveSpeaker(msgspec.Struct):
    """`media.speaker`: who speaks now, by the levels his audio packets carry (RFC 6464);
    sent when it changes (at most once a second) and again every 2 s while someone does."""

    person: str
    """The speaker's identity; "" for no one (the speaker left the stage, no one speaks)."""
    source: str
    """The source of the audio track he is heard on (`mic`); "" for no one."""
