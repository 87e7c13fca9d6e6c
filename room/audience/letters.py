"""Letters: what each message Tribune mails says (subject and text), and nothing else.

Pure functions of records and links: who is mailed and when is decided where
the message is queued (`registration`, `follow_up`, `room.accounts.users`),
and the queue is `room.audience.outbox`.
"""

from __future__ import annotations

from room.records import Event, Invitation

Letter = tuple[str, str]
"""(subject, text)"""


def registered(event: Event, name: str, link: str, certificate: bool) -> Letter:
    """To a registrant: his personal join link (sent again when he registers twice)."""
    subject = f"Your registration: {event.title}"
    lines = [
        f"Hello {name},",
        "",
        f"You are registered for \u201c{event.title}\u201d.",
        "Your personal link to join (do not share it):",
        link,
    ]
    if certificate:
        lines += ["", "A certificate of attendance will be sent to you after the event."]
    return subject, "\n".join(lines) + "\n"


def magic_link(link: str) -> Letter:
    """To a dashboard user who asked to sign in without his password."""
    return (
        "Your Tribune sign-in link",
        "Open this link to sign in to Tribune. It works once, for 15 minutes:\n"
        f"{link}\n\nIf you did not ask for it, ignore this message.\n",
    )


def collaborator_added(event: Event, name: str, login_url: str) -> Letter:
    """To a person just made a collaborator of one event."""
    return (
        f"You can now help run \u201c{event.title}\u201d",
        f"Hello {name},\n\nYou were added as a collaborator of \u201c{event.title}\u201d.\n"
        f"Sign in at {login_url} (ask for a sign-in link with your e-mail).\n",
    )


def staff_invited(event: Event, inv: Invitation, link: str) -> Letter:
    """To a presenter or collaborator invited to one event from the dashboard: his personal
    link (a re-issued invitation sends the new one; the older link stops working)."""
    return (
        f"Your invitation: {event.title}",
        f"Hello {inv.name or inv.email},\n\n"
        f"You are invited to \u201c{event.title}\u201d as its {inv.role.value}.\n"
        f"Your personal link (do not share it; it works on one device):\n{link}\n",
    )


def secondary_welcome(account_name: str, login_url: str) -> Letter:
    """To the owner of a new secondary account."""
    return (
        f"Your Tribune account: {account_name}",
        f"Hello,\n\nThe account \u201c{account_name}\u201d was created for you on Tribune.\n"
        f"Sign in at {login_url} (ask for a sign-in link with this e-mail).\n",
    )


def _replay(link: str) -> str:
    """The replay paragraph of a thank-you, when the event has a replay (`link`)."""
    if not link:
        return ""
    return f"\nThe event can be watched again (your personal link, do not share it):\n{link}\n"


def presenter_thanks(event: Event, inv: Invitation, summary: str, replay: str = "") -> Letter:
    """To a presenter once the event has ended, with its main figures (R-ROLE-5) and,
    when it has one, his link to its replay."""
    return (
        f"Thank you for presenting: {event.title}",
        f"Hello {inv.name or inv.email},\n\n"
        f"Thank you for presenting \u201c{event.title}\u201d. Here are its main figures:\n\n"
        f"{summary}\n" + _replay(replay),
    )


def certificate(event: Event, name: str, replay: str = "") -> Letter:
    """To an attendee of a certificate event; the PDF is attached when it is sent (R-CERT).
    When the event has a replay, his link to it."""
    return (
        f"Your certificate: {event.title}",
        f"Hello {name},\n\n"
        f"Thank you for attending \u201c{event.title}\u201d. "
        "Your certificate of attendance is attached.\n" + _replay(replay),
    )


def replay_available(event: Event, inv: Invitation, link: str) -> Letter:
    """To a registrant or invited attendee once the event is on demand: his own link to
    its replay."""
    return (
        f"The replay is available: {event.title}",
        f"Hello {inv.name or inv.email},\n\n"
        f"\u201c{event.title}\u201d can now be watched on demand.\n"
        f"Your personal link to the replay (do not share it):\n{link}\n",
    )
