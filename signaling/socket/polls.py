"""Moderation on the wire, part two: polls with their coalesced live results, slides, the
audit trail and export links (docs/protocol.md). Rules live in `moderation/`."""

from __future__ import annotations

import logging

from moderation import audit, polls, slides
from moderation.limits import LIMITS
from moderation.outcome import Outcome
from room.permissions import Action, require
from signaling import tokens
from signaling.schemas.moderation import (
    EXPORT_ACTION,
    AuditList,
    AuditPage,
    ExportLink,
    ExportLinkAck,
    PollCreate,
    PollUpdate,
    PollVote,
    Ref,
    SlidesGoto,
)
from signaling.schemas.validation import Empty
from signaling.socket.dispatch import Ctx, delivered
from signaling.socket.fanout import Fanout
from signaling.socket.hub import Hub

log = logging.getLogger(__name__)


class PollResults:
    """Coalesces live poll results: at most one `poll.results` per poll per interval."""

    def __init__(self, fanout: Fanout, every: float) -> None:
        self.fanout = fanout
        self.every = every

    def soon(self, event_id: str, poll_id: str) -> None:
        key = (event_id, poll_id)
        self.fanout.coalesce(("poll.results", *key), self.every, lambda: self._send(key))

    async def _send(self, key: tuple[str, str]) -> None:
        try:
            change = await polls.results_change(self.fanout.store, *key)
            if change is not None:
                await self.fanout.changes([change])
        except Exception:
            log.exception("poll results for %s failed", key)


def register(hub: Hub) -> None:
    room, manage = hub.room, hub.manage
    results = PollResults(hub.fanout, LIMITS.poll_results_every)

    # -- polls: participants vote on /room, staff run them on /manage --
    @room.route("poll.vote", PollVote, Action.VOTE_POLL)
    @delivered
    async def poll_vote(ctx: Ctx, p: PollVote) -> Outcome:
        out = await polls.vote(ctx.store, ctx.event_id, ctx.person, p.id, p.choices)
        results.soon(ctx.event_id, p.id)
        return out

    @manage.route("poll.create", PollCreate, Action.MANAGE_POLLS)
    @delivered
    async def p_create(ctx: Ctx, p: PollCreate) -> Outcome:
        return await polls.create(
            ctx.store, ctx.event_id, ctx.person, p.question, p.options, p.multiple, p.show_results
        )

    @manage.route("poll.update", PollUpdate, Action.MANAGE_POLLS)
    @delivered
    async def p_update(ctx: Ctx, p: PollUpdate) -> Outcome:
        return await polls.update(
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

    @manage.route("poll.delete", Ref, Action.MANAGE_POLLS)
    @delivered
    async def p_delete(ctx: Ctx, p: Ref) -> Outcome:
        return await polls.delete(ctx.store, ctx.event_id, ctx.person, p.id)

    @manage.route("poll.open", Ref, Action.MANAGE_POLLS)
    @delivered
    async def p_open(ctx: Ctx, p: Ref) -> Outcome:
        return await polls.open_poll(ctx.store, ctx.event_id, ctx.person, p.id)

    @manage.route("poll.close", Ref, Action.MANAGE_POLLS)
    @delivered
    async def p_close(ctx: Ctx, p: Ref) -> Outcome:
        return await polls.close(ctx.store, ctx.event_id, ctx.person, p.id)

    # -- slides: driven from /room and /manage alike --
    @delivered
    async def slides_goto(ctx: Ctx, p: SlidesGoto) -> Outcome:
        return await slides.goto(ctx.store, ctx.event_id, ctx.person, p.index)

    for ns in (room, manage):
        ns.add("slides.goto", SlidesGoto, Action.DRIVE_SLIDES, slides_goto)

    @manage.route("slides.clear", Empty, Action.DRIVE_SLIDES)
    @delivered
    async def s_clear(ctx: Ctx, _: Empty) -> Outcome:
        return await slides.clear(ctx.store, ctx.event_id, ctx.person)

    # -- the audit trail and exports (/manage) --
    @manage.route("audit.list", AuditList, Action.READ_AUDIT)
    async def audit_list(ctx: Ctx, p: AuditList) -> AuditPage:
        items = await audit.entries(ctx.store, ctx.event_id, p.offset, p.offset + p.limit - 1)
        return AuditPage(entries=items, offset=p.offset)

    @manage.route("export.link", ExportLink, Action.OPEN_MANAGER)
    async def export_link(ctx: Ctx, p: ExportLink) -> ExportLinkAck:
        # The route admits every manager; the dataset decides which permission it asks.
        require(ctx.person.role, EXPORT_ACTION[p.dataset])
        sig = await tokens.sign_download(
            ctx.store, ctx.event_id, p.dataset.value, ctx.person.identity, LIMITS.export_url_ttl
        )
        path = f"/api/v1/events/{ctx.event_id}/{p.dataset.value}.{p.format.value}"
        return ExportLinkAck(url=f"{path}?sig={sig}", expires_in=LIMITS.export_url_ttl)
