"""Moderation on the wire: questions, chat, polls, slides and the second screen (docs/protocol.md).

Socket.IO events on `/room` (participants), `/manage` (staff) and `/screen`
(read-only), plus HTTP routes: the manager page, exports (CSV/XLSX), slide upload
and slide images. Handlers only translate: rules live in `moderation/`.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import msgspec

from moderation import audit, chat, polls, question_settings, questions, screen, slides, tables
from moderation.items import QuestionKind, Visibility
from moderation.limits import LIMITS
from moderation.outcome import Outcome
from room import changes, presence
from room.audience.exports import FileFormat
from room.events import load_event
from room.permissions import PERMISSIONS, Action, is_staff, require
from room.records import Person
from signaling import auth
from signaling.hub import ROOM, Ctx, Hub
from signaling.room_events import remove_person
from signaling.schemas.room import Empty, PersonId, PersonRemove, Sync

log = logging.getLogger(__name__)


# -- payload schemas -------------------------------------------------------------------------

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


class QuestionAsk(msgspec.Struct, forbid_unknown_fields=True):
    text: QText
    anonymous: bool = False


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


class Ref(msgspec.Struct, forbid_unknown_fields=True):
    id: Id


class QuestionSettings(msgspec.Struct, forbid_unknown_fields=True):
    visibility: Visibility | None = None
    anonymous: bool | None = None


class ChatSend(msgspec.Struct, forbid_unknown_fields=True):
    text: ChatText


class ChatMute(msgspec.Struct, forbid_unknown_fields=True):
    person: PersonId
    muted: bool = True


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


class AuditList(msgspec.Struct, forbid_unknown_fields=True):
    offset: Index = 0
    limit: Annotated[int, msgspec.Meta(ge=1, le=LIMITS.audit_page)] = 200


class ExportLink(msgspec.Struct, forbid_unknown_fields=True):
    dataset: tables.Dataset
    format: FileFormat


EXPORT_ACTION: dict[tables.Dataset, Action] = {
    tables.Dataset.QUESTIONS: Action.MODERATE_QUESTIONS,
    tables.Dataset.AUDIT: Action.READ_AUDIT,
    tables.Dataset.POLLS: Action.MANAGE_POLLS,
}


# -- snapshots -----------------------------------------------------------------------------------


def you(person: Person) -> dict[str, Any]:
    return {**person.view(), "can": sorted(a.value for a in PERMISSIONS[person.role])}


async def manage_state(ctx: Ctx) -> dict[str, Any]:
    """Everything the manager page shows. The revision is read first: a change that lands
    while the snapshot is read is then sent again, and pages apply changes idempotently."""
    store, event_id = ctx.store, ctx.event_id
    rev = await changes.current_rev(store, event_id)
    event = await load_event(store, event_id)
    return {
        "event": presence.event_view(event),
        "you": you(ctx.person),
        "settings": question_settings.settings_view(question_settings.settings_of(event)),
        "questions": await questions.staff_list(store, event_id),
        "chat": await chat.recent(store, event_id, ctx.person),
        "muted": await chat.muted(store, event_id),
        "polls": await polls.staff_list(store, event_id),
        "slides": await slides.current_view(store, event_id),
        "rev": rev,
    }


async def room_state(ctx: Ctx) -> dict[str, Any]:
    """The moderation part of a room page: questions, chat, the open poll, the slide."""
    store, event_id = ctx.store, ctx.event_id
    rev = await changes.current_rev(store, event_id)
    event = await load_event(store, event_id)
    q = await questions.audience_state(store, event, ctx.person)
    if is_staff(ctx.person.role):
        q["questions"] = []  # staff run the questions from the manager page
    return {
        **q,
        "chat": await chat.recent(store, event_id, ctx.person),
        "muted": await chat.is_muted(store, event_id, ctx.person.identity),
        "poll": await polls.audience_state(store, event_id, ctx.person),
        "slides": await slides.current_view(store, event_id),
        "rev": rev,
    }


async def screen_state(ctx: Ctx) -> dict[str, Any]:
    rev = await changes.current_rev(ctx.store, ctx.event_id)
    return {"questions": await questions.screen_list(ctx.store, ctx.event_id), "rev": rev}


# -- delivery --------------------------------------------------------------------------------------


async def deliver(hub: Hub, event_id: str, out: Outcome) -> dict[str, Any]:
    """Fan the outcome's changes out, send its notices to their person's room connection,
    and return the ack's fields."""
    await hub.fan_out(out.changes)
    for notice in out.notices:
        sid = await presence.connection_of(hub.store, event_id, notice.identity)
        if sid is not None:
            await hub.emit_to(sid, notice.name, notice.payload, ROOM)
    return out.ack


class PollResults:
    """Coalesces live poll results: at most one `poll.results` per poll per interval."""

    def __init__(self, hub: Hub, every: float) -> None:
        self.hub = hub
        self.every = every

    def soon(self, event_id: str, poll_id: str) -> None:
        key = (event_id, poll_id)
        self.hub.coalesce(("poll.results", *key), self.every, lambda: self._send(key))

    async def _send(self, key: tuple[str, str]) -> None:
        try:
            change = await polls.results_change(self.hub.store, *key)
            if change is not None:
                await self.hub.fan_out([change])
        except Exception:
            log.exception("poll results for %s failed", key)


# -- Socket.IO events ------------------------------------------------------------------------------


def register(hub: Hub) -> None:
    room, manage, scr = hub.room, hub.manage, hub.screen
    results = PollResults(hub, LIMITS.poll_results_every)

    async def send_room_state(ctx: Ctx) -> None:
        await hub.emit_to(ctx.sid, "moderation.state", await room_state(ctx), ROOM)

    async def send_manage_state(ctx: Ctx) -> None:
        await hub.emit_to(ctx.sid, "manage.state", await manage_state(ctx), manage.name)

    async def send_screen_state(ctx: Ctx) -> None:
        await hub.emit_to(ctx.sid, "screen.state", await screen_state(ctx), scr.name)

    room.on_connect.append(send_room_state)
    manage.on_connect.append(send_manage_state)
    scr.on_connect.append(send_screen_state)

    async def done(ctx: Ctx, out: Outcome) -> dict[str, Any]:
        return await deliver(hub, ctx.event_id, out)

    # -- participants (/room) --
    @room.route("question.ask", QuestionAsk, Action.ASK_QUESTION)
    async def ask(ctx: Ctx, p: QuestionAsk) -> dict[str, Any]:
        out = await questions.ask(ctx.store, ctx.event_id, ctx.person, p.text, p.anonymous)
        return await done(ctx, out)

    @room.route("question.vote", QuestionVote, Action.VOTE_QUESTION)
    async def vote(ctx: Ctx, p: QuestionVote) -> dict[str, Any]:
        out = await questions.vote(ctx.store, ctx.event_id, ctx.person, p.id, p.up)
        return await done(ctx, out)

    @room.route("poll.vote", PollVote, Action.VOTE_POLL)
    async def poll_vote(ctx: Ctx, p: PollVote) -> dict[str, Any]:
        out = await polls.vote(ctx.store, ctx.event_id, ctx.person, p.id, p.choices)
        results.soon(ctx.event_id, p.id)
        return await done(ctx, out)

    @room.route("moderation.get", Empty, Action.SYNC)
    async def room_get(ctx: Ctx, _: Empty) -> dict[str, Any]:
        return await room_state(ctx)

    # -- chat: participants on /room, staff on both --
    async def chat_send(ctx: Ctx, p: ChatSend) -> dict[str, Any]:
        out = await chat.send(ctx.store, ctx.event_id, ctx.person, p.text)
        return await done(ctx, out)

    async def chat_delete(ctx: Ctx, p: Ref) -> dict[str, Any]:
        out = await chat.delete(ctx.store, ctx.event_id, ctx.person, p.id)
        return await done(ctx, out)

    async def slides_goto(ctx: Ctx, p: SlidesGoto) -> dict[str, Any]:
        out = await slides.goto(ctx.store, ctx.event_id, ctx.person, p.index)
        return await done(ctx, out)

    for ns in (room, manage):
        ns.route("chat.send", ChatSend, Action.CHAT)(chat_send)
        ns.route("chat.delete", Ref, Action.MODERATE_CHAT)(chat_delete)
        ns.route("slides.goto", SlidesGoto, Action.DRIVE_SLIDES)(slides_goto)

    # -- staff (/manage) --
    @manage.route("question.add", QuestionAdd, Action.MODERATE_QUESTIONS)
    async def q_add(ctx: Ctx, p: QuestionAdd) -> dict[str, Any]:
        out = await questions.add(ctx.store, ctx.event_id, ctx.person, p.text, p.kind)
        return await done(ctx, out)

    @manage.route("question.hide", QuestionHide, Action.MODERATE_QUESTIONS)
    async def q_hide(ctx: Ctx, p: QuestionHide) -> dict[str, Any]:
        out = await questions.hide(ctx.store, ctx.event_id, ctx.person, p.id, p.hidden)
        return await done(ctx, out)

    @manage.route("question.approve", QuestionApprove, Action.MODERATE_QUESTIONS)
    async def q_approve(ctx: Ctx, p: QuestionApprove) -> dict[str, Any]:
        out = await questions.approve(ctx.store, ctx.event_id, ctx.person, p.id, p.approved)
        return await done(ctx, out)

    @manage.route("question.push", QuestionPush, Action.MODERATE_QUESTIONS)
    async def q_push(ctx: Ctx, p: QuestionPush) -> dict[str, Any]:
        out = await questions.push(ctx.store, ctx.event_id, ctx.person, p.id, p.pushed)
        return await done(ctx, out)

    @manage.route("question.answered", QuestionAnswered, Action.MODERATE_QUESTIONS)
    async def q_answered(ctx: Ctx, p: QuestionAnswered) -> dict[str, Any]:
        out = await questions.answer(ctx.store, ctx.event_id, ctx.person, p.id, p.answered)
        return await done(ctx, out)

    @manage.route("question.edit", QuestionEdit, Action.MODERATE_QUESTIONS)
    async def q_edit(ctx: Ctx, p: QuestionEdit) -> dict[str, Any]:
        out = await questions.edit(ctx.store, ctx.event_id, ctx.person, p.id, p.text, p.version)
        return await done(ctx, out)

    @manage.route("question.delete", Ref, Action.MODERATE_QUESTIONS)
    async def q_delete(ctx: Ctx, p: Ref) -> dict[str, Any]:
        out = await questions.delete(ctx.store, ctx.event_id, ctx.person, p.id)
        return await done(ctx, out)

    @manage.route("question.settings", QuestionSettings, Action.MODERATE_QUESTIONS)
    async def q_settings(ctx: Ctx, p: QuestionSettings) -> dict[str, Any]:
        out = await question_settings.configure(
            ctx.store, ctx.event_id, ctx.person, p.visibility, p.anonymous
        )
        return await done(ctx, out)

    @manage.route("chat.mute", ChatMute, Action.MODERATE_CHAT)
    async def c_mute(ctx: Ctx, p: ChatMute) -> dict[str, Any]:
        out = await chat.mute(ctx.store, ctx.event_id, ctx.person, p.person, p.muted)
        return await done(ctx, out)

    @manage.route("chat.to_question", Ref, Action.MODERATE_QUESTIONS)
    async def c_to_question(ctx: Ctx, p: Ref) -> dict[str, Any]:
        out = await chat.to_question(ctx.store, ctx.event_id, ctx.person, p.id)
        return await done(ctx, out)

    manage.route("person.remove", PersonRemove, Action.REMOVE_PERSON)(remove_person)

    @manage.route("poll.create", PollCreate, Action.MANAGE_POLLS)
    async def p_create(ctx: Ctx, p: PollCreate) -> dict[str, Any]:
        out = await polls.create(
            ctx.store, ctx.event_id, ctx.person, p.question, p.options, p.multiple, p.show_results
        )
        return await done(ctx, out)

    @manage.route("poll.update", PollUpdate, Action.MANAGE_POLLS)
    async def p_update(ctx: Ctx, p: PollUpdate) -> dict[str, Any]:
        out = await polls.update(
            ctx.store,
            ctx.event_id,
            ctx.person,
            p.id,
            p.version,
            p.question,
            p.options,
            p.multiple,
            p.show_results,
        )
        return await done(ctx, out)

    @manage.route("poll.delete", Ref, Action.MANAGE_POLLS)
    async def p_delete(ctx: Ctx, p: Ref) -> dict[str, Any]:
        out = await polls.delete(ctx.store, ctx.event_id, ctx.person, p.id)
        return await done(ctx, out)

    @manage.route("poll.open", Ref, Action.MANAGE_POLLS)
    async def p_open(ctx: Ctx, p: Ref) -> dict[str, Any]:
        out = await polls.open_poll(ctx.store, ctx.event_id, ctx.person, p.id)
        return await done(ctx, out)

    @manage.route("poll.close", Ref, Action.MANAGE_POLLS)
    async def p_close(ctx: Ctx, p: Ref) -> dict[str, Any]:
        out = await polls.close(ctx.store, ctx.event_id, ctx.person, p.id)
        return await done(ctx, out)

    @manage.route("slides.clear", Empty, Action.DRIVE_SLIDES)
    async def s_clear(ctx: Ctx, _: Empty) -> dict[str, Any]:
        out = await slides.clear(ctx.store, ctx.event_id, ctx.person)
        return await done(ctx, out)

    @manage.route("audit.list", AuditList, Action.READ_AUDIT)
    async def audit_list(ctx: Ctx, p: AuditList) -> dict[str, Any]:
        items = await audit.entries(ctx.store, ctx.event_id, p.offset, p.offset + p.limit - 1)
        return {"entries": [audit.view(e) for e in items], "offset": p.offset}

    @manage.route("export.link", ExportLink, Action.OPEN_MANAGER)
    async def export_link(ctx: Ctx, p: ExportLink) -> dict[str, Any]:
        require(ctx.person.role, EXPORT_ACTION[p.dataset])
        sig = await auth.sign_download(
            ctx.store, ctx.event_id, p.dataset.value, ctx.person.identity, LIMITS.export_url_ttl
        )
        path = f"/api/v1/events/{ctx.event_id}/{p.dataset.value}.{p.format.value}"
        return {"url": f"{path}?sig={sig}", "expires_in": LIMITS.export_url_ttl}

    @manage.route("screen.link", Empty, Action.MODERATE_QUESTIONS)
    async def screen_link(ctx: Ctx, _: Empty) -> dict[str, Any]:
        event = await load_event(ctx.store, ctx.event_id)
        inv = await screen.invitation(ctx.store, event)
        token = hub.tokens.sign(inv.event_id, inv.id, inv.role, inv.gen)
        return {"path": f"/screen/{event.id}#t={token}", "token": token}

    async def manage_sync(ctx: Ctx, p: Sync) -> dict[str, Any]:
        out = await hub.replay(ctx, p.rev)
        if out["changes"] is None or p.full:
            del out["changes"]
            out["snapshot"] = await manage_state(ctx)
        return out

    manage.route("sync", Sync, Action.SYNC)(manage_sync)

    # -- the second screen (/screen, read-only) --
    @scr.route("screen.get", Empty, Action.VIEW_SCREEN)
    async def screen_get(ctx: Ctx, _: Empty) -> dict[str, Any]:
        return await screen_state(ctx)
