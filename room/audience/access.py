"""Access lists, the direct-access link and the activity log of an event (R-REG-2, R-REG-3).

An `access_list` event admits its listed guests only: each guest gets a
personal participant invitation (his join link). Guests are added one by one
or from a CSV file; the file is checked whole before anything is written, and
each good row is added with `hsetnx` on the e-mail, so importing the same file
twice adds nothing. Every change is written to the event's activity log.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from room import cas, keys
from room import events as ev
from room.audience.listing import ordered_pages
from room.audience.registration import normalize_email
from room.errors import Code, TribuneError, invalid
from room.permissions import ATTENDEE_ROLE
from room.records import Event, Invitation, decode, encode, now, to_wire
from room.store import Store

MAX_IMPORT_BYTES = 10 * 1024 * 1024
"""The largest CSV file an import accepts (10 MB)."""
MAX_REPORTED = 10_000
"""Refused rows listed one by one in an import report; beyond, only counted."""
IMPORT_BATCH = 50
PAGE = 1000

EMAIL_HEADERS = ("email", "e-mail", "mail", "courriel", "email address", "adresse e-mail")
NAME_HEADERS = ("name", "full name", "nom", "nom complet")
FIRST_HEADERS = ("first name", "firstname", "first_name", "prénom", "prenom")
LAST_HEADERS = ("last name", "lastname", "last_name", "surname", "nom de famille")


class Guest(msgspec.Struct):
    email: str
    name: str
    invitation_id: str
    added_at: float
    added_by: str
    first_connected: float | None = None


class Activity(msgspec.Struct, array_like=True):
    """One line of the activity log: who did what, when."""

    at: float
    who: str
    action: str
    detail: str = ""


# -- activity log -------------------------------------------------------------------


async def log(store: Store, event_id: str, who: str, action: str, detail: str = "") -> None:
    entry = Activity(at=now(), who=who[:320], action=action, detail=detail[:1000])
    await store.rpush(keys.activity(event_id), encode(entry))


async def activity_pages(
    store: Store, event_id: str, page: int = PAGE
) -> AsyncIterator[list[Activity]]:
    start = 0
    while True:
        raws = await store.lrange(keys.activity(event_id), start, start + page - 1)
        if not raws:
            return
        start += len(raws)
        yield [decode(r, Activity) for r in raws]


async def activity(
    store: Store, event_id: str, offset: int = 0, limit: int = 200
) -> list[Activity]:
    raws = await store.lrange(keys.activity(event_id), offset, offset + limit - 1)
    return [decode(r, Activity) for r in raws]


# -- guests ---------------------------------------------------------------------------


async def _add_many(
    store: Store, event: Event, rows: list[tuple[str, str]], who: str
) -> list[Guest | None]:
    """Add checked guests (e-mail, name); None for each e-mail already listed. The store
    calls run concurrently per step, but the list keeps the rows' order."""
    listed = await asyncio.gather(*(store.hget(keys.guests(event.id), e) for e, _ in rows))
    todo = [row for row, known in zip(rows, listed, strict=True) if known is None]
    invs = await asyncio.gather(
        *(
            ev.invite(store, event, ev.InvitationCreate(role=ATTENDEE_ROLE, name=n, email=e))
            for e, n in todo
        )
    )
    # The order entry goes first and names the invitation: an entry whose guest was never
    # written (a lost race, a crash) matches no guest and is skipped when listing.
    for (email, _), inv in zip(todo, invs, strict=True):
        await store.rpush(keys.guest_order(event.id), f"{email}\n{inv.id}".encode())
    added = await asyncio.gather(
        *(_claim(store, event, e, n, inv, who) for (e, n), inv in zip(todo, invs, strict=True))
    )
    by_email = {g.email: g for g in added if g is not None}
    # an e-mail twice in `todo` can only come from concurrent calls: the loser gets None
    out: list[Guest | None] = []
    for (email, _), known in zip(rows, listed, strict=True):
        out.append(None if known is not None else by_email.pop(email, None))
    return out


async def _claim(
    store: Store, event: Event, email: str, name: str, inv: Invitation, who: str
) -> Guest | None:
    guest = Guest(email=email, name=name, invitation_id=inv.id, added_at=now(), added_by=who)
    await store.hset(keys.guests_by_invitation(event.id), inv.id, email.encode())
    if not await store.hsetnx(keys.guests(event.id), email, encode(guest)):
        # a concurrent add of the same e-mail won: undo ours, it never existed
        await store.hdel(keys.guests_by_invitation(event.id), inv.id)
        await store.hdel(keys.invitations(event.id), inv.id)
        return None
    return guest


async def add_guest(store: Store, event: Event, email: str, name: str, who: str) -> Guest:
    email = normalize_email(email)
    name = name.strip()
    if len(name) > 200:
        raise invalid("the name is longer than 200 characters", "name")
    [guest] = await _add_many(store, event, [(email, name)], who)
    if guest is None:
        raise TribuneError(Code.CONFLICT, f"{email} is already on the access list", "email")
    await log(store, event.id, who, "guest.added", email)
    return guest


async def get_guest(store: Store, event_id: str, email: str) -> Guest | None:
    raw = await store.hget(keys.guests(event_id), email.strip().lower())
    return None if raw is None else decode(raw, Guest)


async def guest_count(store: Store, event_id: str) -> int:
    return await store.hlen(keys.guests(event_id))


async def guest_pages(
    store: Store, event_id: str, page: int = PAGE, start: int = 0
) -> AsyncIterator[list[Guest]]:
    """Guests in the order they were added, `page` at a time."""
    async for guests in ordered_pages(
        store,
        keys.guest_order(event_id),
        keys.guests(event_id),
        Guest,
        lambda g, inv_id: g.invitation_id == inv_id,
        page,
        start,
    ):
        yield guests


async def delete_all(store: Store, event: Event, who: str) -> int:
    """Empty the access list: every guest's link stops working."""
    listed = await store.hgetall(keys.guests(event.id))
    for raw in listed.values():
        await store.hdel(keys.invitations(event.id), decode(raw, Guest).invitation_id)
    await store.delete(
        keys.guests(event.id), keys.guest_order(event.id), keys.guests_by_invitation(event.id)
    )
    await log(store, event.id, who, "guests.deleted", f"{len(listed)} guest(s)")
    return len(listed)


async def mark_connected(store: Store, event_id: str, invitation_id: str, at: float) -> None:
    """Remember when a guest first connected (shown on the access list)."""
    email = await store.hget(keys.guests_by_invitation(event_id), invitation_id)
    if email is None:
        return

    def stamp(guest: Guest) -> None:
        if guest.first_connected is None:
            guest.first_connected = at

    # Losing every round means others keep writing this guest (likely stamping it too),
    # so the stamp gives up quietly rather than fail a connection.
    await cas.update(
        store,
        keys.guests(event_id),
        email.decode(),
        Guest,
        stamp,
        missing=None,
        conflict=None,
        attempts=20,
    )


# -- CSV import -------------------------------------------------------------------------


class Refusal(msgspec.Struct):
    line: int
    email: str
    reason: str


class ImportReport(msgspec.Struct):
    rows: int = 0
    added: int = 0
    already: int = 0
    refused_count: int = 0
    refused: list[Refusal] = msgspec.field(default_factory=list)

    def refuse(self, line: int, email: str, reason: str) -> None:
        self.refused_count += 1
        if len(self.refused) < MAX_REPORTED:
            self.refused.append(Refusal(line, email[:320], reason))

    def view(self) -> dict[str, Any]:
        return to_wire(self)


def _text_of(data: bytes) -> str:
    if len(data) > MAX_IMPORT_BYTES:
        raise invalid("the file is larger than 10 MB; split it and import each part", "file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise invalid(
            "the file is UTF-16 text; save it as \u201cCSV UTF-8\u201d and import it again", "file"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise invalid(
            f"the file is not UTF-8 text (line {line} has a byte that is not UTF-8); "
            "save it as \u201cCSV UTF-8\u201d and import it again",
            "file",
        ) from None


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    for i, h in enumerate(header):
        if h in names:
            return i
    return None


def parse_guests(data: bytes) -> tuple[list[tuple[int, str, str]], ImportReport]:
    """Check a whole CSV file: the good rows as (line, email, name), and a report of the bad.

    Raises `invalid` for a problem of the whole file (size, encoding, no e-mail column),
    before anything is imported.
    """
    text = _text_of(data)
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    report = ImportReport()
    good: list[tuple[int, str, str]] = []
    seen: dict[str, int] = {}
    try:
        header_row = next(reader, None)
        if header_row is None or not any(c.strip() for c in header_row):
            raise invalid("the file is empty", "file")
        header = [c.strip().lower() for c in header_row]
        email_col = _column(header, EMAIL_HEADERS)
        name_col = _column(header, NAME_HEADERS)
        first_col = _column(header, FIRST_HEADERS)
        last_col = _column(header, LAST_HEADERS)
        rows: Any = reader
        if email_col is None:
            if "@" not in header_row[0]:
                raise invalid(
                    "the first line must name the columns, with an \u201cemail\u201d column "
                    f"(found: {', '.join(header)[:200]})",
                    "file",
                )
            # no header line: e-mail, then name
            email_col, name_col = 0, 1 if len(header_row) > 1 else None
            rows = _chain([header_row], reader)
        needed = max(c for c in (email_col, name_col, first_col, last_col) if c is not None)
        for row in rows:
            line = reader.line_num
            if not any(c.strip() for c in row):
                continue
            report.rows += 1
            if len(row) <= needed:
                report.refuse(
                    line,
                    row[email_col] if len(row) > email_col else "",
                    f"missing column(s): expected {needed + 1}, found {len(row)}",
                )
                continue
            raw_email = row[email_col]
            try:
                email = normalize_email(raw_email)
            except TribuneError:
                report.refuse(line, raw_email, "not a valid e-mail address")
                continue
            if name_col is not None:
                name = row[name_col].strip()
            else:
                parts = [row[c].strip() for c in (first_col, last_col) if c is not None]
                name = " ".join(p for p in parts if p)
            if len(name) > 200:
                report.refuse(line, raw_email, "the name is longer than 200 characters")
                continue
            if email in seen:
                report.refuse(line, raw_email, f"repeats line {seen[email]} of this file")
                continue
            seen[email] = line
            good.append((line, email, name))
    except csv.Error as exc:
        raise invalid(
            f"the file is not valid CSV (line {reader.line_num}): {exc}", "file"
        ) from None
    return good, report


def _chain(first: list[list[str]], rest: Any) -> Any:
    yield from first
    yield from rest


async def import_guests(store: Store, event: Event, data: bytes, who: str) -> ImportReport:
    """Import a CSV file of guests; the report lists every refused row with its reason."""
    good, report = parse_guests(data)
    for i in range(0, len(good), IMPORT_BATCH):
        batch = [(email, name) for _, email, name in good[i : i + IMPORT_BATCH]]
        for guest in await _add_many(store, event, batch, who):
            if guest is None:
                report.already += 1
            else:
                report.added += 1
    await log(
        store,
        event.id,
        who,
        "guests.imported",
        f"{report.added} added, {report.already} already listed, {report.refused_count} refused",
    )
    return report


# -- direct-access link (R-REG-3) ---------------------------------------------------------


async def direct_link(store: Store, event: Event) -> Invitation | None:
    """The event's shared direct-access invitation while it is enabled."""
    raw = await store.get(keys.direct_link(event.id))
    if raw is None:
        return None
    inv = decode(raw, Invitation)
    current = await store.hget(keys.invitations(event.id), inv.id)
    return None if current is None else decode(current, Invitation)


async def set_direct_link(store: Store, event: Event, enabled: bool, who: str) -> Invitation | None:
    """Enable (the same link as before, if there was one) or disable the direct-access link.
    Disabling withdraws the invitation: new joins through it are refused."""
    raw = await store.get(keys.direct_link(event.id))
    if enabled:
        if raw is None:
            inv = await ev.invite(
                store, event, ev.InvitationCreate(role=ATTENDEE_ROLE, shared=True)
            )
            if not await store.set_nx(keys.direct_link(event.id), encode(inv)):
                await store.hdel(keys.invitations(event.id), inv.id)
                raw = await store.get(keys.direct_link(event.id))
        if raw is not None:
            saved = decode(raw, Invitation)
            await store.hsetnx(keys.invitations(event.id), saved.id, raw)
    elif raw is not None:
        saved = decode(raw, Invitation)
        current = await store.hget(keys.invitations(event.id), saved.id)
        if current is not None:
            await store.set(keys.direct_link(event.id), current)  # keep its generation
            await store.hdel(keys.invitations(event.id), saved.id)

    def flag(e: Event) -> None:
        e.settings.direct_link = enabled

    await ev.change_event(store, event.id, flag)
    await log(store, event.id, who, "direct_link." + ("enabled" if enabled else "disabled"))
    return await direct_link(store, event) if enabled else None
