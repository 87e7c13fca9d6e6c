"""Polls (R-POLL): staff prepare, open and close them; each participant holds one ballot.

A participant's ballot is one hash field: voting again while the poll is open
*replaces* his ballot (he changes his mind), so every participant counts once.
Results are always tallied from the ballots (exact: no counters to drift); live
updates are coalesced by the caller (`results_change`). A vote re-reads the poll
after writing its ballot and takes it back if the poll closed meanwhile, so the
ballots of a closed poll never change again. Polls and ballots are kept after
the event.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
from msgspec.structs import asdict

from moderation import audit, keys
from moderation.items import Poll, PollState
from moderation.limits import LIMITS, Limits
from moderation.outcome import Outcome, Removed
from moderation.poll_views import (
    BallotAck,
    BallotPoll,
    PollAck,
    Results,
    StaffPoll,
    audience_view,
    staff_view,
)
from moderation.text import clean
from room import cas, changes, lifecycle
from room.changes import Audience, Change, Payload
from room.errors import Code, TribuneError, invalid, not_found
from room.events import load_event
from room.records import Person, new_id, now, to_wire
from room.store import Store

_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder(Poll)
_ballot = msgspec.msgpack.Decoder(list[int])

OPEN_FIELD = "open"


# -- reading ------------------------------------------------------------------------------


async def get(store: Store, event_id: str, poll_id: str) -> Poll:
    raw = await store.hget(keys.polls(event_id), poll_id)
    if raw is None:
        raise not_found("poll")
    return _dec.decode(raw)


async def all_polls(store: Store, event_id: str) -> list[Poll]:
    ps = [_dec.decode(r) for r in (await store.hgetall(keys.polls(event_id))).values()]
    return sorted(ps, key=lambda p: (p.created, p.id))


async def tally(store: Store, event_id: str, poll: Poll) -> Results:
    counts = [0] * len(poll.options)
    ballots = (await store.hgetall(keys.ballots(event_id, poll.id))).values()
    for raw in ballots:
        for i in _ballot.decode(raw):
            if 0 <= i < len(counts):
                counts[i] += 1
    return Results(counts, len(ballots))


async def results(store: Store, event_id: str, poll: Poll) -> Results:
    return await tally(store, event_id, poll)


async def ballot_of(store: Store, event_id: str, poll_id: str, identity: str) -> list[int] | None:
    raw = await store.hget(keys.ballots(event_id, poll_id), identity)
    return None if raw is None else _ballot.decode(raw)


async def current(store: Store, event_id: str) -> Poll | None:
    raw = await store.hget(keys.polls_meta(event_id), OPEN_FIELD)
    if raw is None:
        return None
    try:
        poll = await get(store, event_id, raw.decode())
    except TribuneError:
        return None
    return poll if poll.state is PollState.OPEN else None


async def shown_results(store: Store, event_id: str, poll: Poll) -> Results | None:
    """The results staff see: none for a draft (nobody voted yet)."""
    return None if poll.state is PollState.DRAFT else await results(store, event_id, poll)


async def staff_list(store: Store, event_id: str) -> list[StaffPoll]:
    return [
        staff_view(p, await shown_results(store, event_id, p))
        for p in await all_polls(store, event_id)
    ]


async def audience_state(store: Store, event_id: str, viewer: Person) -> BallotPoll | None:
    """The open poll as a participant sees it, with his ballot."""
    poll = await current(store, event_id)
    if poll is None:
        return None
    r = await results(store, event_id, poll) if poll.show_results else None
    seen = audience_view(poll, r)
    ballot = await ballot_of(store, event_id, poll.id, viewer.identity)
    return BallotPoll(**asdict(seen), ballot=ballot)


# -- changes ---------------------------------------------------------------------------------


async def _changed(
    store: Store, event_id: str, poll: Poll, audience: bool
) -> tuple[Change, StaffPoll]:
    """The `poll.changed` change, and the staff view it carries (an ack sends it too)."""
    r = await shown_results(store, event_id, poll)
    staff = staff_view(poll, r)
    payloads: dict[Audience, Payload] = {Audience.STAFF: {"id": poll.id, "poll": to_wire(staff)}}
    if audience:
        payloads[Audience.AUDIENCE] = {"id": poll.id, "poll": to_wire(audience_view(poll, r))}
    change = await changes.record(
        store, Change(event_id=event_id, name="poll.changed", payloads=payloads)
    )
    return change, staff


async def results_change(store: Store, event_id: str, poll_id: str) -> Change | None:
    """The live results of an open poll (for staff, and participants if it shows results)."""
    try:
        poll = await get(store, event_id, poll_id)
    except TribuneError:
        return None
    if poll.state is not PollState.OPEN:
        return None
    r = to_wire(await tally(store, event_id, poll))
    payloads: dict[Audience, Payload] = {Audience.STAFF: {"id": poll_id, **r}}
    if poll.show_results:
        payloads[Audience.AUDIENCE] = {"id": poll_id, **r}
    return await changes.record(
        store, Change(event_id=event_id, name="poll.results", payloads=payloads)
    )


async def _update(
    store: Store, event_id: str, poll_id: str, apply: Callable[[Poll], None]
) -> cas.Updated[Poll]:
    return await cas.update(
        store,
        keys.polls(event_id),
        poll_id,
        Poll,
        apply,
        missing=not_found("poll"),
        conflict="the poll is being changed too often; try again",
        attempts=100,
    )


def _options(options: list[str], limits: Limits) -> list[str]:
    if not 2 <= len(options) <= limits.poll_options:
        raise invalid(f"a poll has 2 to {limits.poll_options} options", "options")
    out = [clean(o, limits.poll_option_length, "options", "option") for o in options]
    if len(set(out)) != len(out):
        raise invalid("two options have the same text", "options")
    return out


# -- staff -----------------------------------------------------------------------------------


async def create(
    store: Store,
    event_id: str,
    who: Person,
    question: str,
    options: list[str],
    multiple: bool = False,
    show_results: bool = False,
    limits: Limits = LIMITS,
) -> Outcome:
    poll = Poll(
        id=new_id("poll"),
        question=clean(question, limits.poll_question_length, "question", "poll question"),
        options=_options(options, limits),
        created=now(),
        created_by=who.name,
        multiple=multiple,
        show_results=show_results,
    )
    if await store.hlen(keys.polls(event_id)) >= limits.polls_per_event:
        raise invalid(f"an event has at most {limits.polls_per_event} polls")
    await store.hset(keys.polls(event_id), poll.id, _enc.encode(poll))
    await audit.record(store, event_id, who, "poll.create", f"poll:{poll.id}", None, {
        "question": poll.question, "options": poll.options, "multiple": multiple,
    })
    change, _ = await _changed(store, event_id, poll, audience=False)
    return Outcome(changes=[change], ack=PollAck(staff_view(poll, None)))


async def update(
    store: Store,
    event_id: str,
    who: Person,
    poll_id: str,
    version: int,
    question: str | None = None,
    options: list[str] | None = None,
    multiple: bool | None = None,
    show_results: bool | None = None,
    limits: Limits = LIMITS,
) -> Outcome:
    """Edit a draft (wording, options, choice kind); `show_results` may change at any time."""
    q = None if question is None else clean(
        question, limits.poll_question_length, "question", "poll question"
    )
    opts = None if options is None else _options(options, limits)

    def apply(p: Poll) -> None:
        if p.version != version:
            raise TribuneError(Code.CONFLICT, "this poll was changed meanwhile", "version")
        if (q, opts, multiple) != (None, None, None) and p.state is not PollState.DRAFT:
            raise TribuneError(Code.CONFLICT, "only a draft poll's wording can change")
        if q is not None:
            p.question = q
        if opts is not None:
            p.options = opts
        if multiple is not None:
            p.multiple = multiple
        if show_results is not None:
            p.show_results = show_results
        p.version += 1

    before, after = await _update(store, event_id, poll_id, apply)
    b, a = audit.diff(before, after)
    b.pop("version", None)
    a.pop("version", None)
    if not a:
        return Outcome(ack=PollAck(staff_view(after, None)))
    await audit.record(store, event_id, who, "poll.update", f"poll:{poll_id}", b, a)
    shown = after.state is not PollState.DRAFT
    change, staff = await _changed(store, event_id, after, audience=shown)
    return Outcome(changes=[change], ack=PollAck(staff))


async def delete(store: Store, event_id: str, who: Person, poll_id: str) -> Outcome:
    raw = await store.hget(keys.polls(event_id), poll_id)
    if raw is None:
        raise not_found("poll")
    poll = _dec.decode(raw)
    if poll.state is PollState.OPEN:
        raise TribuneError(Code.CONFLICT, "close the poll before deleting it")
    if not await store.hcas(keys.polls(event_id), poll_id, raw, None):
        raise TribuneError(Code.CONFLICT, "the poll was changed meanwhile; try again")
    r = await shown_results(store, event_id, poll)
    await store.delete(keys.ballots(event_id, poll_id))
    await audit.record(
        store, event_id, who, "poll.delete", f"poll:{poll_id}", to_wire(staff_view(poll, r)), None
    )
    payloads: dict[Audience, Payload] = {Audience.STAFF: {"id": poll_id, "poll": None}}
    if poll.state is not PollState.DRAFT:
        payloads[Audience.AUDIENCE] = {"id": poll_id, "poll": None}
    change = await changes.record(
        store, Change(event_id=event_id, name="poll.changed", payloads=payloads)
    )
    return Outcome(changes=[change], ack=Removed(poll_id))


async def open_poll(store: Store, event_id: str, who: Person, poll_id: str) -> Outcome:
    """Open a poll for votes; the poll open before it, if any, closes."""
    at = now()

    def apply(p: Poll) -> None:
        if p.state is not PollState.OPEN:
            p.state = PollState.OPEN
            p.opened_at = at
            p.closed_at = None

    before, after = await _update(store, event_id, poll_id, apply)
    out = Outcome()
    previous = await store.hswap(keys.polls_meta(event_id), OPEN_FIELD, poll_id.encode())
    if previous is not None and previous.decode() != poll_id:
        out.extend(await close(store, event_id, who, previous.decode(), quiet_missing=True))
    if after != before:
        await audit.record(store, event_id, who, "poll.open", f"poll:{poll_id}",
                           {"state": before.state.value}, {"state": after.state.value})
        change, _ = await _changed(store, event_id, after, audience=True)
        out.changes.append(change)
    out.ack = PollAck(staff_view(after, await results(store, event_id, after)))
    return out


async def close(
    store: Store, event_id: str, who: Person, poll_id: str, quiet_missing: bool = False
) -> Outcome:
    """Close a poll: no more votes; its results stay."""
    at = now()

    def apply(p: Poll) -> None:
        if p.state is PollState.OPEN:
            p.state = PollState.CLOSED
            p.closed_at = at

    try:
        before, after = await _update(store, event_id, poll_id, apply)
    except TribuneError:
        if quiet_missing:
            return Outcome()
        raise
    await store.hcas(keys.polls_meta(event_id), OPEN_FIELD, poll_id.encode(), None)
    r = await tally(store, event_id, after)
    out = Outcome(ack=PollAck(staff_view(after, r)))
    if after != before:
        await audit.record(store, event_id, who, "poll.close", f"poll:{poll_id}",
                           {"state": before.state.value},
                           {"state": after.state.value, "counts": r.counts, "voters": r.voters})
        change, _ = await _changed(store, event_id, after, audience=True)
        out.changes.append(change)
    return out


# -- participants --------------------------------------------------------------------------


async def vote(
    store: Store, event_id: str, who: Person, poll_id: str, choices: list[int]
) -> Outcome:
    """Cast (or replace) one's ballot in an open poll."""
    lifecycle.require_open(await load_event(store, event_id))
    poll = await get(store, event_id, poll_id)
    if poll.state is not PollState.OPEN:
        raise TribuneError(Code.CONFLICT, "this poll is not open for votes")
    picked = sorted(set(choices))
    if len(picked) != len(choices) or not picked:
        raise invalid("choose one or more different options", "choices")
    if not poll.multiple and len(picked) != 1:
        raise invalid("this poll takes exactly one choice", "choices")
    if picked[0] < 0 or picked[-1] >= len(poll.options):
        raise invalid(f"choices are option numbers 0 to {len(poll.options) - 1}", "choices")
    key = keys.ballots(event_id, poll_id)
    ballot = msgspec.msgpack.encode(picked)
    old = await store.hswap(key, who.identity, ballot)
    if (await get(store, event_id, poll_id)).state is not PollState.OPEN:
        await store.hcas(key, who.identity, ballot, old)  # closed meanwhile: take it back
        raise TribuneError(Code.CONFLICT, "this poll is not open for votes")
    return Outcome(ack=BallotAck(poll_id, picked))
