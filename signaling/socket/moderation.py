"""Moderation on the wire, part one: the three pages' snapshots, questions, chat and the
second screen's link (docs/protocol.md). Polls, slides, the audit trail and exports are in
`signaling.socket.polls`.

Participants send on `/room`, staff on `/manage`, second screens read on `/screen`.
Handlers only translate: rules live in `moderation/`.
"""

from __future__ import annotations

from msgspec.structs import asdict

from moderation import (
    chat,
    polls,
    question_lists,
    question_settings,
    questions,
    screen,
    slides,
    votes,
)
from moderation.outcome import Outcome
from room import changes
from room.events import load_event
from room.permissions import Action
from room.presence import roster
from signaling.schemas.moderation import (
    ChatMute,
    ChatSend,
    ManageState,
    ModerationState,
    QuestionAdd,
    QuestionAnswered,
    QuestionApprove,
    QuestionAsk,
    QuestionEdit,
    QuestionHide,
    QuestionPush,
    QuestionSettings,
    QuestionVote,
    Ref,
    ScreenLinkAck,
    ScreenState,
)
from signaling.schemas.room import Replay, Snapshot, Sync
from signaling.schemas.validation import Empty
from signaling.socket.dispatch import Ctx, delivered
from signaling.socket.fanout import MANAGE, ROOM, SCREEN
from signaling.socket.hub import Hub

# -- snapshots -----------------------------------------------------------------------------------
# Each reads the revision first: a change that lands while the snapshot is read is then
# sent again, and pages apply changes idempotently.


async def manage_state(ctx: Ctx) -> ManageState:
    """Everything the manager page shows."""
    store, event_id = ctx.store, ctx.event_id
    rev = await changes.current_rev(store, event_id)
    event = await load_event(store, event_id)
    return ManageState(
        event=roster.event_view(event),
        you=roster.you(ctx.person),
        settings=question_settings.settings_of(event),
        questions=await question_lists.staff_list(store, event_id),
        chat=await chat.recent(store, event_id, ctx.person),
        muted=await chat.muted(store, event_id),
        polls=await polls.staff_list(store, event_id),
        slides=await slides.current_view(store, event_id),
        rev=rev,
    )


async def moderation_state(ctx: Ctx) -> ModerationState:
    """The moderation part of a room page: questions, chat, the open poll, the slide."""
    store, event_id = ctx.store, ctx.event_id
    rev = await changes.current_rev(store, event_id)
    event = await load_event(store, event_id)
    q = await question_lists.audience_state(store, event, ctx.person)
    return ModerationState(
        **asdict(q),
        chat=await chat.recent(store, event_id, ctx.person),
        muted=await chat.is_muted(store, event_id, ctx.person.identity),
        poll=await polls.audience_state(store, event_id, ctx.person),
        slides=await slides.current_view(store, event_id),
        rev=rev,
    )


async def screen_state(ctx: Ctx) -> ScreenState:
    rev = await changes.current_rev(ctx.store, ctx.event_id)
    shown = await question_lists.screen_list(ctx.store, ctx.event_id)
    return ScreenState(questions=shown, rev=rev)


async def send_moderation_state(ctx: Ctx) -> None:
    await ctx.fanout.emit_to(ctx.sid, "moderation.state", await moderation_state(ctx), ROOM)


async def send_manage_state(ctx: Ctx) -> None:
    await ctx.fanout.emit_to(ctx.sid, "manage.state", await manage_state(ctx), MANAGE)


async def send_screen_state(ctx: Ctx) -> None:
    await ctx.fanout.emit_to(ctx.sid, "screen.state", await screen_state(ctx), SCREEN)


# -- Socket.IO events ------------------------------------------------------------------------------


def register(hub: Hub) -> None:
    room, manage, scr = hub.room, hub.manage, hub.screen
    limits = hub.config.limits
    room.on_connect.append(send_moderation_state)
    manage.on_connect.append(send_manage_state)
    scr.on_connect.append(send_screen_state)

    # -- snapshots on demand --
    @room.route("moderation.get", Empty, Action.SYNC)
    async def room_get(ctx: Ctx, _: Empty) -> ModerationState:
        return await moderation_state(ctx)

    @manage.route("sync", Sync, Action.SYNC)
    async def manage_sync(ctx: Ctx, p: Sync) -> Replay | Snapshot:
        rev, missed = await hub.fanout.replay(ctx.event_id, ctx.person.role, p.rev)
        if missed is not None and not p.full:
            return Replay(rev, missed)
        return Snapshot(rev, await manage_state(ctx))

    @scr.route("screen.get", Empty, Action.VIEW_SCREEN)
    async def screen_get(ctx: Ctx, _: Empty) -> ScreenState:
        return await screen_state(ctx)

    # -- questions: participants on /room --
    @room.route("question.ask", QuestionAsk, Action.ASK_QUESTION)
    @delivered
    async def ask(ctx: Ctx, p: QuestionAsk) -> Outcome:
        return await questions.ask(
            ctx.store, ctx.event_id, ctx.person, p.text, p.anonymous, limits, p.cid
        )

    @room.route("question.vote", QuestionVote, Action.VOTE_QUESTION)
    @delivered
    async def vote(ctx: Ctx, p: QuestionVote) -> Outcome:
        return await votes.vote(ctx.store, ctx.event_id, ctx.person, p.id, p.up)

    # -- questions: staff on /manage --
    @manage.route("question.add", QuestionAdd, Action.MODERATE_QUESTIONS)
    @delivered
    async def q_add(ctx: Ctx, p: QuestionAdd) -> Outcome:
        return await questions.add(ctx.store, ctx.event_id, ctx.person, p.text, p.kind, limits)

    @manage.route("question.hide", QuestionHide, Action.MODERATE_QUESTIONS)
    @delivered
    async def q_hide(ctx: Ctx, p: QuestionHide) -> Outcome:
        return await questions.hide(ctx.store, ctx.event_id, ctx.person, p.id, p.hidden)

    @manage.route("question.approve", QuestionApprove, Action.MODERATE_QUESTIONS)
    @delivered
    async def q_approve(ctx: Ctx, p: QuestionApprove) -> Outcome:
        return await questions.approve(ctx.store, ctx.event_id, ctx.person, p.id, p.approved)

    @manage.route("question.push", QuestionPush, Action.MODERATE_QUESTIONS)
    @delivered
    async def q_push(ctx: Ctx, p: QuestionPush) -> Outcome:
        return await questions.push(ctx.store, ctx.event_id, ctx.person, p.id, p.pushed)

    @manage.route("question.answered", QuestionAnswered, Action.MODERATE_QUESTIONS)
    @delivered
    async def q_answered(ctx: Ctx, p: QuestionAnswered) -> Outcome:
        return await questions.answer(ctx.store, ctx.event_id, ctx.person, p.id, p.answered)

    @manage.route("question.edit", QuestionEdit, Action.MODERATE_QUESTIONS)
    @delivered
    async def q_edit(ctx: Ctx, p: QuestionEdit) -> Outcome:
        return await questions.edit(ctx.store, ctx.event_id, ctx.person, p.id, p.text, p.version)

    @manage.route("question.delete", Ref, Action.MODERATE_QUESTIONS)
    @delivered
    async def q_delete(ctx: Ctx, p: Ref) -> Outcome:
        return await questions.delete(ctx.store, ctx.event_id, ctx.person, p.id)

    @manage.route("question.settings", QuestionSettings, Action.MODERATE_QUESTIONS)
    @delivered
    async def q_settings(ctx: Ctx, p: QuestionSettings) -> Outcome:
        return await question_settings.configure(
            ctx.store, ctx.event_id, ctx.person, p.visibility, p.anonymous
        )

    @manage.route("screen.link", Empty, Action.MODERATE_QUESTIONS)
    async def screen_link(ctx: Ctx, _: Empty) -> ScreenLinkAck:
        event = await load_event(ctx.store, ctx.event_id)
        inv = await screen.invitation(ctx.store, event)
        token = hub.tokens.sign_invitation(inv)
        return ScreenLinkAck(path=f"/screen/{event.id}#t={token}", token=token)

    # -- chat: participants on /room, staff on both --
    @delivered
    async def chat_send(ctx: Ctx, p: ChatSend) -> Outcome:
        return await chat.send(ctx.store, ctx.event_id, ctx.person, p.text, limits, p.cid)

    @delivered
    async def chat_delete(ctx: Ctx, p: Ref) -> Outcome:
        return await chat.delete(ctx.store, ctx.event_id, ctx.person, p.id)

    for ns in (room, manage):
        ns.add("chat.send", ChatSend, Action.CHAT, chat_send)
        ns.add("chat.delete", Ref, Action.MODERATE_CHAT, chat_delete)

    @manage.route("chat.mute", ChatMute, Action.MODERATE_CHAT)
    @delivered
    async def c_mute(ctx: Ctx, p: ChatMute) -> Outcome:
        return await chat.mute(ctx.store, ctx.event_id, ctx.person, p.person, p.muted)

    @manage.route("chat.to_question", Ref, Action.MODERATE_QUESTIONS)
    @delivered
    async def c_to_question(ctx: Ctx, p: Ref) -> Outcome:
        return await chat.to_question(ctx.store, ctx.event_id, ctx.person, p.id, limits)
