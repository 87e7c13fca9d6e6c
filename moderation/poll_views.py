"""What staff and participants see of a poll, and the acks of poll calls."""

from __future__ import annotations

import msgspec

from moderation.items import Poll, PollState


class Results(msgspec.Struct, frozen=True):
    counts: list[int]
    voters: int


class StaffPoll(msgspec.Struct):
    id: str
    question: str
    options: list[str]
    multiple: bool
    show_results: bool
    state: PollState
    version: int
    created: float
    opened_at: float | None
    closed_at: float | None
    results: Results | None
    """None when not tallied (always for a draft)."""


class AudiencePoll(msgspec.Struct):
    id: str
    question: str
    options: list[str]
    multiple: bool
    state: PollState
    results: Results | None
    """None unless the poll shows its results to participants."""


class BallotPoll(AudiencePoll):
    """The open poll as one participant sees it."""

    ballot: list[int] | None
    """His choices, None before he votes."""


class PollAck(msgspec.Struct):
    poll: StaffPoll


class BallotAck(msgspec.Struct):
    id: str
    choices: list[int]


def staff_view(p: Poll, r: Results | None) -> StaffPoll:
    return StaffPoll(
        id=p.id,
        question=p.question,
        options=p.options,
        multiple=p.multiple,
        show_results=p.show_results,
        state=p.state,
        version=p.version,
        created=p.created,
        opened_at=p.opened_at,
        closed_at=p.closed_at,
        results=r,
    )


def audience_view(p: Poll, r: Results | None) -> AudiencePoll:
    shown = r if p.show_results else None
    return AudiencePoll(p.id, p.question, p.options, p.multiple, p.state, shown)
