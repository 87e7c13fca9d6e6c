"""Moderation's wire Structs: questions, chat, polls, slides, the audit trail, exports and
the second screen's link; their acks and the three pages' snapshots."""

from __future__ import annotations

from typing import Annotated

import msgspec

from moderation import tables
from moderation.chat import PublicLine, StaffLine
from moderation.items import AuditEntry, QuestionKind
from moderation.limits import LIMITS
from moderation.poll_views import BallotPoll, StaffPoll
from moderation.question_lists import AudienceQuestions
from moderation.question_settings import QuestionSettings as QuestionSettingsView
from moderation.question_views import ScreenQuestion, StaffQuestion
from moderation.slides import SlidesView
from room.audience.exports import FileFormat
from room.client_ids import Cid
from room.event_settings import Visibility
from room.permissions import Action
from room.presence.roster import EventView, YouView
from signaling.schemas.room import PersonId

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
# Generous caps on the wire; the domain applies the exact limits (and trims first).
QText = Annotated[str, msgspec.Meta(max_length=LIMITS.question_length * 2)]
ChatText = Annotated[str, msgspec.Meta(max_length=LIMITS.chat_length * 2)]
PollQuestion = Annotated[str, msgspec.Meta(max_length=LIMITS.poll_question_length * 2)]
PollOption = Annotated[str, msgspec.Meta(max_length=LIMITS.poll_option_length * 2)]
PollOptions = Annotated[list[PollOption], msgspec.Meta(max_length=LIMITS.poll_options * 2)]
Choices = Annotated[list[int], msgspec.Meta(max_length=LIMITS.poll_options * 2)]
Version = Annotated[int, msgspec.Meta(ge=1)]
Index = Annotated[int, msgspec.Meta(ge=0)]


class Ref(msgspec.Struct, forbid_unknown_fields=True):
    id: Id


# -- questions ------------------------------------------------------------------------------


class QuestionAsk(msgspec.Struct, forbid_unknown_fields=True):
    text: QText
    anonymous: bool = False
    cid: Cid | None = None
    """The page's id for this question: a retry with it answers the first try's question."""


class QuestionAdd(msgspec.Struct, forbid_unknown_fields=True):
    text: QText
    kind: QuestionKind = QuestionKind.QUESTION


class QuestionVote(msgspec.Struct, forbid_unknown_fields=True):
    id: Id
    up: bool = True


class QuestionHide(msgspec.Struct, forbid_unknown_fields=True):
    id: Id
    hidden: bool = True


class QuestionApprove(msgspec.Struct, forbid_unknown_fields=True):
    id: Id
    approved: bool = True


class QuestionPush(msgspec.Struct, forbid_unknown_fields=True):
    id: Id
    pushed: bool = True


class QuestionAnswered(msgspec.Struct, forbid_unknown_fields=True):
    id: Id
    answered: bool = True


class QuestionEdit(msgspec.Struct, forbid_unknown_fields=True):
    id: Id
    text: QText
    version: Version


class QuestionSettings(msgspec.Struct, forbid_unknown_fields=True):
    visibility: Visibility | None = None
    anonymous: bool | None = None


# -- chat -------------------------------------------------------------------------------------


class ChatSend(msgspec.Struct, forbid_unknown_fields=True):
    text: ChatText
    cid: Cid | None = None
    """The page's id for this message: a retry with it answers the first try's message."""


class ChatMute(msgspec.Struct, forbid_unknown_fields=True):
    person: PersonId
    muted: bool = True


# -- polls and slides -------------------------------------------------------------------------


class PollCreate(msgspec.Struct, forbid_unknown_fields=True):
    question: PollQuestion
    options: PollOptions
    multiple: bool = False
    show_results: bool = False


class PollUpdate(msgspec.Struct, forbid_unknown_fields=True):
    id: Id
    version: Version
    question: PollQuestion | None = None
    options: PollOptions | None = None
    multiple: bool | None = None
    show_results: bool | None = None


class PollVote(msgspec.Struct, forbid_unknown_fields=True):
    id: Id
    choices: Choices


class SlidesGoto(msgspec.Struct, forbid_unknown_fields=True):
    index: Index


# -- the manager's tools ----------------------------------------------------------------------


class AuditList(msgspec.Struct, forbid_unknown_fields=True):
    offset: Annotated[int, msgspec.Meta(ge=0, le=LIMITS.audit_offset)] = 0
    limit: Annotated[int, msgspec.Meta(ge=1, le=LIMITS.audit_page)] = 200


class ExportLink(msgspec.Struct, forbid_unknown_fields=True):
    dataset: tables.Dataset
    format: FileFormat


EXPORT_ACTION: dict[tables.Dataset, Action] = {
    tables.Dataset.QUESTIONS: Action.MODERATE_QUESTIONS,
    tables.Dataset.AUDIT: Action.READ_AUDIT,
    tables.Dataset.POLLS: Action.MANAGE_POLLS,
}
"""What the permission table must allow to export each dataset (socket link and HTTP alike)."""


class AuditPage(msgspec.Struct):
    entries: list[AuditEntry]
    offset: int


class ExportLinkAck(msgspec.Struct):
    url: str
    expires_in: int


class ScreenLinkAck(msgspec.Struct):
    path: str
    token: str


# -- snapshots ----------------------------------------------------------------------------------
# Made of the moderation domain's own views: their fields belong to `moderation/`.


class ManageState(msgspec.Struct):
    """Everything the manager page shows."""

    event: EventView
    you: YouView
    settings: QuestionSettingsView
    questions: list[StaffQuestion]
    chat: list[StaffLine] | list[PublicLine]
    muted: list[str]
    polls: list[StaffPoll]
    slides: SlidesView | None
    rev: int


class ModerationState(AudienceQuestions):
    """The moderation part of a room page: questions (the participant's part), chat, the
    open poll, the slide."""

    chat: list[StaffLine] | list[PublicLine]
    muted: bool
    poll: BallotPoll | None
    slides: SlidesView | None
    rev: int


class ScreenState(msgspec.Struct):
    questions: list[ScreenQuestion]
    rev: int
