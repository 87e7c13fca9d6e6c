"""`media.speaker`: the active speaker the event's media owner finds, told to the room.

The owner's SFU reads the audio levels its publishers' packets carry (`media/speaker.py`)
and reports through the media plane (`MediaPlane.speaker_listeners`) on the owner node;
the fan-out reaches every node's connections from there, on `/room` and `/manage`. A
change (not a refresh) is also noted in the event's timeline (`room.timeline.SPEAKER`).
"""

from __future__ import annotations

from typing import Any

from room import timeline
from signaling.schemas.media import ActiveSpeaker
from signaling.socket.fanout import MANAGE, ROOM
from signaling.socket.hub import Hub
from signaling.socket.media_plane import MediaPlane


def register(hub: Hub, plane: MediaPlane) -> None:
    async def told(event_id: str, news: dict[str, Any]) -> None:
        person = str(news["person"])
        payload = ActiveSpeaker(person, str(news["source"]))
        for namespace in (ROOM, MANAGE):
            await hub.fanout.emit_room(event_id, "media.speaker", payload, namespace)
        if news.get("changed"):
            await timeline.add(hub.store, event_id, timeline.SPEAKER, {"person": person})

    plane.speaker_listeners.append(told)
