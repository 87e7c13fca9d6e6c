"""The store keys of an event's presence: roster, connections, public index, hands, bans."""

from __future__ import annotations


def roster_key(event_id: str) -> str:
    return f"ev:{event_id}:roster"


def conns_key(event_id: str) -> str:
    return f"ev:{event_id}:conns"


def hands_key(event_id: str) -> str:
    return f"ev:{event_id}:hands"


def public_key(event_id: str) -> str:
    """Who everyone may see in the roster (organizer, presenters, collaborators): an index,
    so an attendee's snapshot does not decode the whole roster."""
    return f"ev:{event_id}:public"


def bans_key(event_id: str) -> str:
    return f"ev:{event_id}:bans"
