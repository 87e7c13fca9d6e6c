"""An event's audience settings as the dashboard's editor sets them: registration fields, the
certificate and its images, written with the event and noted in its activity log.

The question settings of the same editor belong to moderation
(`moderation.questions.configure`, which audits them and tells connected pages).
"""

from __future__ import annotations

from typing import Any

import msgspec

from room import events as ev
from room.audience import access, certificates, registration
from room.records import Account, Event
from room.store import Store


def merged(
    current: dict[str, Any],
    registration_fields: list[Any] | None,
    certificate: dict[str, Any] | None,
) -> dict[str, Any]:
    """`current` settings with the given ones checked and put in (None: left as they are)."""
    settings = dict(current)
    if registration_fields is not None:
        fields = registration.parse_fields(registration_fields)
        settings["registration_fields"] = msgspec.to_builtins(fields)
    if certificate is not None:
        settings["certificate"] = certificates.parse_settings(certificate)
    return settings


async def create_event(
    store: Store,
    account: Account,
    fields: ev.EventCreate,
    registration_fields: list[Any] | None,
    certificate: dict[str, Any] | None,
    by: str,
) -> Event:
    """A new event with its audience settings; `by` is who the activity log names."""
    fields.settings = merged(fields.settings, registration_fields, certificate)
    event = await ev.create_event(store, account, fields)
    await access.log(store, event.id, by, "event.created", event.title)
    return event


async def edit_event(
    store: Store,
    account: Account,
    event_id: str,
    fields: ev.EventUpdate,
    registration_fields: list[Any] | None,
    certificate: dict[str, Any] | None,
    by: str,
) -> Event:
    """Change an event's own fields, then its audience settings (checked before they are
    written); an ended event is refused (`room.lifecycle.require_changeable`)."""
    updated = await ev.update_event(store, account, event_id, fields)
    if registration_fields is not None or certificate is not None:
        merged(updated.settings, registration_fields, certificate)  # refuse before writing

        def apply(e: Event) -> None:
            e.settings = merged(e.settings, registration_fields, certificate)

        updated = await ev.change_event(store, event_id, apply)
    await access.log(store, event_id, by, "event.edited", updated.title)
    return updated


async def set_certificate_image(
    store: Store, event: Event, kind: certificates.ImageKind, data: bytes, by: str
) -> None:
    """Keep the certificate's logo or signature (a PNG or JPEG), noted in the activity log."""
    await certificates.set_image(store, event.id, kind, data)
    await access.log(store, event.id, by, f"certificate.{kind.value}", f"{len(data)} bytes")
