"""Store keys of what follows an event's end: the after-event work's marker and the replay
mail's (re-exported by `room.keys`, pinned by tests/room/test_keys.py)."""

from __future__ import annotations


def followed_up(event_id: str) -> str:
    """Set once the after-event work (thank-you mails, certificates) is done."""
    return f"ev:{event_id}:followed"


def replay_mailed(event_id: str) -> str:
    """Set once every replay mail of the on-demand event is queued (`follow_up.replay_mail`)."""
    return f"ev:{event_id}:replay:mailed"


def replay_mail(event_id: str, email: str) -> str:
    """The idempotency key of one person's "the replay is available" mail (kind `replay`)."""
    return f"replay:{event_id}:{email}"
