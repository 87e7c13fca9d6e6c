"""What deleting an event removes: every store key it owns and the leases of its people.

`events.delete_event` makes the event unreachable and revokes its links; once the
edge has closed its connections, `purge_event` deletes the data. The room core's keys
come from `keys.event_keys`; the audience's and moderation's are passed in by the edge
(`room.audience.sessions.identities`, `room.audience.certificates.image_keys`,
`moderation.retention.owned_keys`), so each package lists its own. Nothing of a
deleted event is kept: no contract asks for it (docs/api.md, `DELETE` of an event).
"""

from __future__ import annotations

from collections.abc import Iterable

from room import keys, seats
from room.stage import Source
from room.store import Store
from room.types import SeatPool


async def people(store: Store, event_id: str) -> set[str]:
    """The identities the room core still knows in the event (roster, connections, the
    addresses of shared-link identities)."""
    found: set[str] = set()
    for key in (keys.roster, keys.connections, keys.identity_addresses):
        found |= set(await store.hgetall(key(event_id)))
    return found


def is_event_mail(field: str, event_id: str) -> bool:
    """A mail idempotency key (a field of `keys.MAIL_KEYS`) that names this event."""
    kind, _, rest = field.partition(":")
    return kind in keys.EVENT_MAIL_KINDS and rest.partition(":")[0] == event_id


async def purge_event(
    store: Store, event_id: str, identities: Iterable[str], owned: Iterable[str]
) -> int:
    """Release the leases of `identities` and delete every key of the event: the room
    core's and `owned`. Returns the number of keys deleted."""
    everyone = set(identities) | await people(store, event_id)
    for identity in sorted(everyone):
        await store.holder_release(seats.holder(event_id, identity))
    core = keys.event_keys(
        event_id,
        pools=[p.value for p in SeatPool],
        sources=[s.value for s in Source],
    )
    mails = [f for f in await store.hgetall(keys.MAIL_KEYS) if is_event_mail(f, event_id)]
    for field in mails:  # its mails' idempotency keys (a scan: deleting an event is rare)
        await store.hdel(keys.MAIL_KEYS, field)
    return await store.delete(*core, *owned)
