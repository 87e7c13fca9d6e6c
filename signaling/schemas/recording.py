"""Recording's wire Structs: `recording.start` / `recording.stop`, their ack, the
`recording.status` fan-out, and the HTTP listing (docs/protocol.md, docs/api.md)."""

from __future__ import annotations

import msgspec


class RecordingStart(msgspec.Struct, forbid_unknown_fields=True):
    pass


class RecordingStop(msgspec.Struct, forbid_unknown_fields=True):
    pass


class RecordingRef(msgspec.Struct):
    id: str
    state: str
    """`recording` or `stopped`."""


class RecordingAck(msgspec.Struct):
    recording: RecordingRef


class RecordingStatus(msgspec.Struct, omit_defaults=True):
    state: str
    id: str
    reason: str = ""
    """Why it stopped on its own: `quota` (the account's recording space is used up)."""
    warning: str = ""
    """`quota_90`: the recording space is 90 % used (sent to the staff only)."""


class TrackLink(msgspec.Struct):
    kind: str
    codec: str
    person: str
    url: str
    part: int = 1
    """The part of the recording the file belongs to."""


class PartView(msgspec.Struct):
    """One part of a recording: written by one media owner (a new part when it died)."""

    index: int
    started_at: float
    stopped_at: float | None
    size_bytes: int


class ExportView(msgspec.Struct, omit_defaults=True):
    """A recording's MP4 export (`room.recording_exports`)."""

    state: str
    """`queued`, `running`, `done` or `failed`."""
    progress: float
    """0..1."""
    url: str = ""
    """The MP4's download, once done."""
    size_bytes: int = 0
    """Once done."""
    error: str = ""
    """Why it failed (`interrupted`: its server stopped meanwhile; ask again)."""


class ExportAnswer(msgspec.Struct):
    export: ExportView


class RecordingView(msgspec.Struct, omit_defaults=True):
    id: str
    started_at: float
    duration_s: float
    size_bytes: int
    tracks: list[TrackLink]
    parts: list[PartView] = []
    export: ExportView | None = None
    """Once an export was asked for."""


class RecordingList(msgspec.Struct):
    recordings: list[RecordingView]
