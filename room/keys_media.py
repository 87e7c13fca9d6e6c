"""Store keys of recordings (re-exported by `room.keys`, pinned by tests/room/test_keys.py)."""

from __future__ import annotations


def recordings(event_id: str) -> str:
    """Hash: recording id -> `Recording` (`room.recordings`); deleted with the event."""
    return f"ev:{event_id}:recs"


def timeline(event_id: str) -> str:
    """Hash: `<store time>-<token>` -> `room.timeline.Entry` (at most
    `room.timeline.MAX_ENTRIES`); deleted with the event."""
    return f"ev:{event_id}:timeline"


def recording_exports(event_id: str) -> str:
    """Hash: recording id -> `room.recording_exports.Export` (its MP4 export); deleted with
    the event."""
    return f"ev:{event_id}:rec_exports"
