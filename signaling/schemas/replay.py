"""The replay's wire Structs: `GET /api/v1/replay/{event_id}` (docs/api.md) and the
`/replay` namespace's connect auth (docs/protocol.md)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from signaling.schemas.room import Device, Token

EventRef = Annotated[str, msgspec.Meta(max_length=64)]


class ReplayTrackView(msgspec.Struct):
    kind: str
    """`video` or `audio`."""
    codec: str
    person: str
    """The identity whose track it is (the timeline's `media.speaker` names the same)."""
    source: str
    """`camera`, `mic` or `screen`."""
    url: str
    """The file (WebM), signed for this recording for `FILE_TTL` s."""
    offset: float
    """Seconds from the recording's start to the track's first frame."""
    duration: float


class ReplayEntryView(msgspec.Struct):
    t: float
    """Seconds from the recording's start (negative: before it started)."""
    kind: str
    data: dict[str, Any]


class ReplayRecordingView(msgspec.Struct):
    id: str
    duration_s: float
    tracks: list[ReplayTrackView]
    timeline: list[ReplayEntryView]


class ReplayEventView(msgspec.Struct):
    id: str
    title: str
    state: str


class ReplayView(msgspec.Struct):
    event: ReplayEventView
    recordings: list[ReplayRecordingView]


class ReplayAuth(msgspec.Struct, forbid_unknown_fields=True):
    """The `/replay` namespace's connect auth: the link token the page was opened with."""

    token: Token
    device: Device | None = None
    """The page's device id (`tribune.device`): on a shared link without `identity`,
    one device is one visitor."""
    event: EventRef = ""
    """The event of the page's path; the link must be for it (when given)."""
    identity: Token | None = None
    """On a shared link, the identity token the live room issued to this browser, if any:
    the replay then counts as the same person."""
