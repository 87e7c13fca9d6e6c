"""What an event's end sends (R-ROLE-5, R-CERT), once, even across crashes.

A thank-you with the main statistics to each presenter, and to each registrant
of a certificate event who attended, a thank-you with his PDF certificate. The
work is safe to run again: sessions already closed stay closed, certificates
are issued once, and the outbox's keys queue each message once. A marker in the
store says it completed; `pending` lists ended events without one, for the
next start to finish.

Once the event is on demand (at its end, or when a recording stops later), each person
of its audience with an e-mail is mailed his own replay link once (`replay_mail`, unless
the event's `replay_mail` setting is off), with its own marker and `replay_pending`.
"""

from __future__ import annotations

from collections.abc import Callable

from room import events, keys, lifecycle
from room.audience import certificates, letters, registration, sessions, stats
from room.audience.outbox import Attacher, Attachment, MailMessage, Outbox
from room.errors import TribuneError
from room.permissions import is_mailed_the_replay, is_thanked_as_presenter
from room.records import Event, Invitation, decode, now
from room.store import Store

ReplayLink = Callable[[Invitation], str]
"""The link to the replay page for a person's invitation (signed at the edge)."""


async def after_event(
    store: Store, outbox: Outbox, event_id: str, *, geo: bool, replay_link: ReplayLink | None = None
) -> dict[str, int]:
    """Close the event's sessions and queue its thank-you mails and certificates; when the
    event has a replay (and `replay_link` is given), each carries its reader's replay link."""
    event = await events.load_event(store, event_id)

    def link(inv: Invitation) -> str:
        return replay_link(inv) if replay_link and lifecycle.has_replay(event) else ""

    async def registrant_link(invitation_id: str) -> str:
        if not (replay_link and lifecycle.has_replay(event)):
            return ""
        try:
            return link(await events.load_invitation(store, event.id, invitation_id))
        except TribuneError:  # his link was withdrawn: no replay link
            return ""

    if not lifecycle.is_ended(event):
        return {"presenters": 0, "certificates": 0}
    await sessions.close_all(store, event.id, at=event.ended_at)
    figures = await stats.event_stats(store, event, geo=geo)
    summary = "\n".join(stats.summary_lines(figures))
    presenters = 0
    for inv in await events.list_invitations(store, event.id):
        if not is_thanked_as_presenter(inv.role) or not inv.email:
            continue
        subject, text = letters.presenter_thanks(event, inv, summary, link(inv))
        if await outbox.enqueue(
            keys.thanks_mail(event.id, inv.email.lower()), inv.email, subject, text
        ):
            presenters += 1
    issued = 0
    if registration.certificate_enabled(event):
        attended = sessions.attendances(await sessions.all_sessions(store, event.id), now())
        async for page in registration.pages(store, event.id):
            for reg in page:
                presence = attended.get(reg.invitation_id)
                if presence is None:
                    continue
                cert = await certificates.issue(store, event, reg, presence.seconds)
                subject, text = letters.certificate(
                    event, reg.name, await registrant_link(reg.invitation_id)
                )
                if await outbox.enqueue(
                    keys.certificate_mail(event.id, reg.email),
                    reg.email,
                    subject,
                    text,
                    certificate=(event.id, cert.id),
                ):
                    issued += 1
    await store.set(keys.followed_up(event.id), b"1")
    return {"presenters": presenters, "certificates": issued}


async def pending(store: Store) -> list[str]:
    """Ended events whose after-event work never completed (the node stopped midway)."""
    out = []
    for event_id, raw in (await store.hgetall(keys.EVENTS)).items():
        if lifecycle.is_ended(decode(raw, Event)):
            if await store.get(keys.followed_up(event_id)) is None:
                out.append(event_id)
    return out


async def replay_mail(
    store: Store, outbox: Outbox, event_id: str, replay_link: ReplayLink
) -> int:
    """Mail "the replay is available" with his own link to each registrant and invited
    attendee with an e-mail, once per person (the outbox's key by e-mail), when the event is
    on demand and its `replay_mail` setting is not off; how many were queued now. Safe to
    run again; a marker says it completed."""
    event = await events.load_event(store, event_id)
    if not lifecycle.has_replay(event):
        return 0
    if await store.get(keys.replay_mailed(event.id)) is not None:
        return 0
    queued = 0
    if event.settings.replay_mail is not False:
        for inv in await events.list_invitations(store, event.id):
            if inv.shared or not inv.email or not is_mailed_the_replay(inv.role):
                continue
            subject, text = letters.replay_available(event, inv, replay_link(inv))
            key = keys.replay_mail(event.id, inv.email.strip().lower())
            if await outbox.enqueue(key, inv.email, subject, text):
                queued += 1
    await store.set(keys.replay_mailed(event.id), b"1")
    return queued


async def replay_pending(store: Store) -> list[str]:
    """On-demand events whose replay mails were never all queued (the node stopped)."""
    out = []
    for event_id, raw in (await store.hgetall(keys.EVENTS)).items():
        if lifecycle.has_replay(decode(raw, Event)):
            if await store.get(keys.replay_mailed(event_id)) is None:
                out.append(event_id)
    return out


def certificate_attacher(store: Store) -> Attacher:
    """Draws a message's certificate when it is sent (the PDF is never kept in the queue)."""

    async def attach(msg: MailMessage) -> list[Attachment]:
        if msg.certificate is None:
            return []
        event_id, cert_id = msg.certificate
        event = await events.load_event(store, event_id)
        cert = await certificates.load(store, event_id, cert_id)
        pdf = await certificates.render(store, event, cert)
        return [Attachment("certificate.pdf", "application/pdf", pdf)]

    return attach
