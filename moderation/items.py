"""The items moderators handle, as stored records: questions, chat messages, polls, slide
decks and audit entries, with the enums they carry."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec


class Origin(StrEnum):
    """Where a question came from (stored in its `source` field)."""

    PARTICIPANT = "participant"
    STAFF = "staff"
    CHAT = "chat"
    """Made from a chat message by a moderator."""


class QuestionKind(StrEnum):
    """A question, or a comment staff add to the list."""

    QUESTION = "question"
    COMMENT = "comment"
    """A remark staff add to the list (an announcement, a summary)."""


class Status(StrEnum):
    """A question as its author sees it."""

    RECEIVED = "received"
    PENDING = "pending"
    APPROVED = "approved"
    PUBLISHED = "published"
    ON_SCREEN = "on_screen"
    ANSWERED = "answered"
    HIDDEN = "hidden"


class Question(msgspec.Struct):
    id: str
    text: str
    author: str
    """The identity that asked; kept when anonymous (his own view, rate limits), never shown."""
    name: str
    """The author's display name at the time ("" when anonymous)."""
    created: float
    anonymous: bool = False
    kind: QuestionKind = QuestionKind.QUESTION
    source: Origin = Origin.PARTICIPANT
    version: int = 1
    """The wording's version: an edit names the version it was based on."""
    original: str | None = None
    """The wording as asked, once a moderator edited it."""
    edited_by: str | None = None
    edited_at: float | None = None
    hidden: bool = False
    approved: bool = False
    pushed: int | None = None
    """Push order on the second screen (a per-event sequence number); None when not pushed."""
    pushed_at: float | None = None
    answered_at: float | None = None
    votes: int = 0

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def on_screen(self) -> bool:
        return self.pushed is not None and not self.answered and not self.hidden


class ChatMessage(msgspec.Struct):
    id: str
    seq: int
    author: str
    name: str
    text: str
    at: float
    staff: bool = False


class PollState(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class Poll(msgspec.Struct):
    id: str
    question: str
    options: list[str]
    created: float
    created_by: str
    multiple: bool = False
    show_results: bool = False
    """Participants see the results (live while open, and after it closes)."""
    state: PollState = PollState.DRAFT
    version: int = 1
    opened_at: float | None = None
    closed_at: float | None = None


class Deck(msgspec.Struct):
    """The uploaded slides of an event: `count` images stored under the deck's id."""

    id: str
    count: int
    names: list[str]
    uploaded_at: float
    uploaded_by: str
    sig: str = ""
    """The signature of the deck's image links (`?sig=`), made by the edge's signer; empty
    for decks stored before links were signed (their images then need a Bearer link)."""


class SlidePosition(msgspec.Struct):
    deck: str
    index: int
    at: float
    by: str
    furthest: int = 0
    """The furthest slide of the deck shown so far: attendees may fetch up to it."""


Fields = dict[str, Any]
"""Some fields of an audited thing, before or after an action. Free-form on purpose: each
action records the fields it changed (`audit.diff`) or names, of whatever kind of thing."""


class AuditEntry(msgspec.Struct):
    """One moderation action: who did what to which thing, when, and what it was before/after."""

    at: float
    by: str
    """The actor's identity."""
    by_name: str
    by_role: str
    action: str
    target: str
    before: Fields | None = None
    after: Fields | None = None
