"""An event as the dashboard's editor makes and changes it, with its audience settings
(registration fields, the certificate and its images), noted in its activity log.

The settings are checked and put in by `room.event_settings.updated`, as for the events
API. The question settings of the same editor belong to moderation
(`moderation.question_settings.configure`, which audits them and tells connected pages).
"""

from __future__ import annotations

from room import events as ev
from room.audience import access, certificates
from room.records import Account, Event
from room.store import Store


async def create_event(store: Store, account: Account, fields: ev.EventCreate, by: str) -> Event:
    """A new event with its audience settings; `by` is who the activity log names."""
    event = await ev.create_event(store, account, fields)
    await access.log(store, event.id, by, "event.created", event.title)
    return event


async def edit_event(
    store: Store, account: Account, event_id: str, fields: ev.EventUpdate, by: str
) -> Event:
    """Change an event's own fields and its audience settings in one write, all checked
    before anything is written; an ended event is refused
    (`room.lifecycle.require_changeable`)."""
    updated = await ev.update_event(store, account, event_id, fields)
    await access.log(store, event_id, by, "event.edited", updated.title)
    return updated


async def set_certificate_image(
    store: Store, event: Event, kind: certificates.ImageKind, data: bytes, by: str
) -> None:
    """Keep the certificate's logo or signature (a PNG or JPEG), noted in the activity log."""
    await certificates.set_image(store, event.id, kind, data)
    await access.log(store, event.id, by, f"certificate.{kind.value}", f"{len(data)} bytes")
