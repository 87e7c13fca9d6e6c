"""Every store key of moderation, in one place: the strings stored data is found by.

The strings never change (a renamed key would orphan what is stored under it);
tests/moderation/test_keys.py pins each one. Per-event keys share the room's
`ev:{event_id}:` prefix; the room's own keys are in `room/keys.py`.
"""

from __future__ import annotations

from collections.abc import Iterable

DOWNLOAD_SECRET = "moderation:download-secret"
"""The secret that signs short-lived export download links."""


def audit(event_id: str) -> str:
    """List: the audit trail, oldest first."""
    return f"ev:{event_id}:audit"


# -- questions ----------------------------------------------------------------------------


def questions(event_id: str) -> str:
    """Hash: question id -> `Question`."""
    return f"ev:{event_id}:q"


def questions_by(event_id: str, identity: str) -> str:
    """List: the ids of the questions one identity asked, in order."""
    return f"ev:{event_id}:q:by:{identity}"


def votes_by(event_id: str, identity: str) -> str:
    """Hash: the questions one identity voted for (one field per question: once each)."""
    return f"ev:{event_id}:q:voted:{identity}"


def vote_counts(event_id: str) -> str:
    """Hash: question id -> the votes counted with their marks (`votes_by`) in one atomic
    step; a question's votes are its record's `votes` (counted before) plus this."""
    return f"ev:{event_id}:q:votes"


def question_cids(event_id: str) -> str:
    """Hash: "{cid}:{identity}" -> the id of the question that client id asked for."""
    return f"ev:{event_id}:q:cid"


def push_seq(event_id: str) -> str:
    """Counter: the order in which questions were pushed to the second screen."""
    return f"ev:{event_id}:q:pushseq"


def question_throttle(event_id: str) -> str:
    """Hash: the rate limiter's bucket per asker."""
    return f"ev:{event_id}:throttle:question"


def screen_link(event_id: str) -> str:
    """The id of the second screen's shared invitation."""
    return f"ev:{event_id}:screen-link"


# -- chat ------------------------------------------------------------------------------------


def chat(event_id: str) -> str:
    """Hash: message id -> `ChatMessage`."""
    return f"ev:{event_id}:chat"


def chat_order(event_id: str) -> str:
    """Sorted set: message ids by sequence number."""
    return f"ev:{event_id}:chat:order"


def chat_seq(event_id: str) -> str:
    return f"ev:{event_id}:chat:seq"


def chat_cids(event_id: str) -> str:
    """Hash: "{cid}:{identity}" -> the id of the message that client id sent."""
    return f"ev:{event_id}:chat:cid"


def chat_muted(event_id: str) -> str:
    """Hash: muted identity -> when."""
    return f"ev:{event_id}:chat:muted"


def chat_asked(event_id: str) -> str:
    """Hash: chat message id -> the question made from it (one question per message)."""
    return f"ev:{event_id}:chat:asked"


def chat_throttle(event_id: str) -> str:
    """Hash: the rate limiter's bucket per sender."""
    return f"ev:{event_id}:throttle:chat"


# -- polls -----------------------------------------------------------------------------------


def polls(event_id: str) -> str:
    """Hash: poll id -> `Poll`."""
    return f"ev:{event_id}:polls"


def polls_meta(event_id: str) -> str:
    """Hash: which poll is open."""
    return f"ev:{event_id}:polls:meta"


def ballots(event_id: str, poll_id: str) -> str:
    """Hash: identity -> his ballot in one poll."""
    return f"ev:{event_id}:poll:{poll_id}:ballots"


# -- slides ----------------------------------------------------------------------------------


def slides(event_id: str) -> str:
    """Hash: the current deck and position."""
    return f"ev:{event_id}:slides"


def slide_images(event_id: str, deck_id: str) -> str:
    """Hash: slide number -> JPEG image of one deck."""
    return f"ev:{event_id}:slides:{deck_id}"


# -- everything one event owns --------------------------------------------------------------


def event_keys(
    event_id: str,
    *,
    identities: Iterable[str] = (),
    poll_ids: Iterable[str] = (),
    deck_ids: Iterable[str] = (),
) -> list[str]:
    """Every moderation key one event owns (each per-event builder above; the identities,
    polls and slide decks named): deleting the event deletes them. A new per-event key is
    listed here too (tests/moderation/test_keys.py fails otherwise)."""
    e = event_id
    return [
        *(audit(e), questions(e), push_seq(e), question_throttle(e), screen_link(e)),
        *(vote_counts(e), question_cids(e), chat_cids(e)),
        *(chat(e), chat_order(e), chat_seq(e), chat_muted(e), chat_asked(e), chat_throttle(e)),
        *(polls(e), polls_meta(e), slides(e)),
        *(k for i in identities for k in (questions_by(e, i), votes_by(e, i))),
        *(ballots(e, p) for p in poll_ids),
        *(slide_images(e, d) for d in deck_ids),
    ]
