"""Outgoing mail: a queue in the store, delivered with retries, each message at most once.

`Outbox.enqueue` takes an idempotency key (`registered:<event>:<email>`,
`thanks:<event>:<email>`, ...): a key already used enqueues nothing, so a
retried job or a second node never mails anyone twice. A worker on every node
claims due messages with `zpopmin` (one claimant each), pushes the claim's
deadline back while sending, and on failure reschedules with back-off. A
message is delivered by SMTP (`--smtp-url`, aiosmtplib) or, when no SMTP
server is configured, written as an `.eml` file into `<data-dir>/outbox`.

`after_event` is what an event's end sends (R-ROLE-5, R-CERT): a thank-you
with the main statistics to each presenter, and to each registrant of a
certificate event who attended, a thank-you with his PDF certificate.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
import msgspec

from room import events, keys, lifecycle, tasks
from room.audience import certificates, registration, sessions, stats
from room.errors import invalid
from room.records import Event, decode, encode, new_id, now
from room.store import Store
from room.types import Role

log = logging.getLogger(__name__)

KEYS = "mail:keys"
MESSAGES = "mail:msgs"
DUE = "mail:due"

BACKOFF = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0)
MAX_ATTEMPTS = 12
CLAIM = 300.0
"""Seconds a claimed message stays out of the queue while it is being sent."""


class Attachment(msgspec.Struct, array_like=True):
    filename: str
    media_type: str
    data: bytes


class MailMessage(msgspec.Struct):
    id: str
    key: str
    to: str
    subject: str
    text: str
    certificate: tuple[str, str] | None = None
    """(event id, certificate id): the PDF is drawn when the message is sent."""
    created: float = 0.0
    attempts: int = 0
    sent_at: float | None = None
    failed: bool = False
    last_error: str = ""


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class DirectoryTransport:
    """The embedded default: each message becomes an .eml file in a directory."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{now():.6f}-{new_id('mail')}.eml"
        tmp = self.directory / (name + ".tmp")
        tmp.write_bytes(message.as_bytes())
        tmp.replace(self.directory / name)


class SmtpTransport:
    """SMTP through aiosmtplib. URL forms: `smtp://[user:pass@]host[:port]` (STARTTLS when
    the server offers it), `smtps://...` (TLS from the start, port 465 by default)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise invalid("--smtp-url must look like smtp://user:password@host:587", "smtp_url")
        self.hostname = parts.hostname
        self.tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self.hostname,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.tls,
            start_tls=None if not self.tls else False,
            tls_context=ssl.create_default_context() if self.tls else None,
            timeout=self.timeout,
        )


def transport_for(smtp_url: str | None, data_dir: str | os.PathLike[str]) -> Transport:
    if smtp_url:
        return SmtpTransport(smtp_url)
    return DirectoryTransport(Path(data_dir) / "outbox")


Attacher = Callable[[MailMessage], Awaitable[list[Attachment]]]


class Outbox:
    """The mail queue of the whole installation (shared by every node through the store)."""

    def __init__(
        self,
        store: Store,
        transport: Transport,
        mail_from: str,
        attach: Attacher | None = None,
        backoff: tuple[float, ...] = BACKOFF,
        max_attempts: int = MAX_ATTEMPTS,
        poll: float = 1.0,
    ) -> None:
        self.store = store
        self.transport = transport
        self.mail_from = mail_from
        self.attach = attach
        self.backoff = backoff
        self.max_attempts = max_attempts
        self.poll = poll
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def enqueue(
        self,
        key: str,
        to: str,
        subject: str,
        text: str,
        certificate: tuple[str, str] | None = None,
    ) -> bool:
        """Queue a message unless one with this key was queued before; True when queued."""
        msg = MailMessage(
            id=new_id("mail"),
            key=key,
            to=to,
            subject=subject,
            text=text,
            certificate=certificate,
            created=now(),
        )
        if not await self.store.hsetnx(KEYS, key, msg.id.encode()):
            return False
        await self.store.hset(MESSAGES, msg.id, encode(msg))
        await self.store.zadd(DUE, msg.id, now())
        self._wake.set()
        return True

    async def get(self, key: str) -> MailMessage | None:
        msg_id = await self.store.hget(KEYS, key)
        if msg_id is None:
            return None
        raw = await self.store.hget(MESSAGES, msg_id.decode())
        return None if raw is None else decode(raw, MailMessage)

    # -- delivery ---------------------------------------------------------------------------
    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop the worker. A cancellation can be lost inside a library call (seen with
        redis-py's timeouts on Python 3.11), so the worker also checks a flag, and the
        cancellation is repeated until the task is done."""
        self._stopping = True
        task, self._task = self._task, None
        if task is None:
            return
        await tasks.stop(task)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.deliver_due()
            except Exception:
                log.exception("mail delivery pass failed")
            self._wake.clear()
            # asyncio.wait, not wait_for: Python 3.11's wait_for can turn a cancellation
            # that meets its timeout into TimeoutError, and the worker would never stop.
            waiter = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({waiter}, timeout=self.poll)
            finally:
                waiter.cancel()

    async def deliver_due(self) -> int:
        """Send every message whose time has come; returns how many were sent."""
        sent = 0
        started = now()  # a message retried during this pass waits for the next one
        while not self._stopping:
            head = await self.store.zrange(DUE, 0, 0)
            if not head or head[0][1] > started:
                return sent
            popped = await self.store.zpopmin(DUE)
            if popped is None:
                return sent
            msg_id, due = popped
            if due > started:  # another node took the one we saw; this one is not due yet
                await self.store.zadd(DUE, msg_id, due, nx=True)
                return sent
            # Claimed: if this node dies while sending, the message comes back after CLAIM.
            await self.store.zadd(DUE, msg_id, now() + CLAIM)
            if await self._deliver(msg_id):
                sent += 1
        return sent

    async def _deliver(self, msg_id: str) -> bool:
        raw = await self.store.hget(MESSAGES, msg_id)
        if raw is None:
            await self.store.zrem(DUE, msg_id)
            return False
        msg = decode(raw, MailMessage)
        if msg.sent_at is not None or msg.failed:
            await self.store.zrem(DUE, msg_id)
            return False
        try:
            attachments = await self.attach(msg) if self.attach and msg.certificate else []
            await self.transport.send(compose(msg, self.mail_from, attachments))
        except Exception as exc:  # any failure is retried; it never reaches the caller
            msg.attempts += 1
            msg.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if msg.attempts >= self.max_attempts:
                msg.failed = True
                await self.store.zrem(DUE, msg_id)
                log.error("giving up mail %s to %s: %s", msg.key, msg.to, msg.last_error)
            else:
                delay = self.backoff[min(msg.attempts, len(self.backoff)) - 1]
                await self.store.zadd(DUE, msg_id, now() + delay)
                log.warning(
                    "mail %s to %s failed (attempt %d), retrying in %ss: %s",
                    msg.key,
                    msg.to,
                    msg.attempts,
                    delay,
                    msg.last_error,
                )
            await self.store.hset(MESSAGES, msg_id, encode(msg))
            return False
        msg.attempts += 1
        msg.sent_at = now()
        await self.store.hset(MESSAGES, msg_id, encode(msg))
        await self.store.zrem(DUE, msg_id)
        return True


def compose(msg: MailMessage, mail_from: str, attachments: list[Attachment]) -> EmailMessage:
    out = EmailMessage()
    out["From"] = mail_from
    out["To"] = msg.to
    out["Subject"] = msg.subject
    out["Date"] = formatdate(msg.created, usegmt=True)
    out["Message-ID"] = make_msgid(idstring=msg.id, domain=mail_from.rpartition("@")[2] or None)
    out.set_content(msg.text)
    for a in attachments:
        maintype, _, subtype = a.media_type.partition("/")
        out.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=a.filename)
    return out


# -- what Tribune sends ----------------------------------------------------------------------


def registered_text(event: Event, name: str, link: str, certificate: bool) -> tuple[str, str]:
    subject = f"Your registration: {event.title}"
    lines = [
        f"Hello {name},",
        "",
        f"You are registered for \u201c{event.title}\u201d.",
        "Your personal link to join (do not share it):",
        link,
    ]
    if certificate:
        lines += ["", "A certificate of attendance will be sent to you after the event."]
    return subject, "\n".join(lines) + "\n"


def magic_text(link: str) -> tuple[str, str]:
    return (
        "Your Tribune sign-in link",
        "Open this link to sign in to Tribune. It works once, for 15 minutes:\n"
        f"{link}\n\nIf you did not ask for it, ignore this message.\n",
    )


async def after_event(store: Store, outbox: Outbox, event_id: str, *, geo: bool) -> dict[str, int]:
    """Close the event's sessions and queue its thank-you mails and certificates.

    Safe to run again (after a crash, or on every node): sessions already closed
    stay closed, certificates are issued once, and mail keys queue each message once.
    """
    event = await events.load_event(store, event_id)
    if not lifecycle.is_ended(event):
        return {"presenters": 0, "certificates": 0}
    await sessions.close_all(store, event.id, at=event.ended_at)
    figures = await stats.event_stats(store, event, geo=geo)
    summary = "\n".join(stats.summary_lines(figures))
    presenters = 0
    for inv in await events.list_invitations(store, event.id):
        if inv.role is not Role.PRESENTER or not inv.email:
            continue
        text = (
            f"Hello {inv.name or inv.email},\n\n"
            f"Thank you for presenting \u201c{event.title}\u201d. Here are its main figures:\n\n"
            f"{summary}\n"
        )
        if await outbox.enqueue(
            f"thanks:{event.id}:{inv.email.lower()}",
            inv.email,
            f"Thank you for presenting: {event.title}",
            text,
        ):
            presenters += 1
    issued = 0
    if registration.certificate_enabled(event):
        attended = sessions.attendances(await sessions.all_sessions(store, event.id), now())
        async for page in registration.pages(store, event.id):
            for reg in page:
                presence = attended.get(reg.invitation_id)
                if presence is None:
                    continue
                cert = await certificates.issue(store, event, reg, presence.seconds)
                text = (
                    f"Hello {reg.name},\n\n"
                    f"Thank you for attending \u201c{event.title}\u201d. "
                    "Your certificate of attendance is attached.\n"
                )
                if await outbox.enqueue(
                    f"certificate:{event.id}:{reg.email}",
                    reg.email,
                    f"Your certificate: {event.title}",
                    text,
                    certificate=(event.id, cert.id),
                ):
                    issued += 1
    await store.set(followed_key(event.id), b"1")
    return {"presenters": presenters, "certificates": issued}


def followed_key(event_id: str) -> str:
    return f"ev:{event_id}:followed"


async def pending_follow_ups(store: Store) -> list[str]:
    """Ended events whose after-event work never completed (the node stopped midway)."""
    out = []
    for event_id, raw in (await store.hgetall(keys.EVENTS)).items():
        if lifecycle.is_ended(decode(raw, Event)):
            if await store.get(followed_key(event_id)) is None:
                out.append(event_id)
    return out


def certificate_attacher(store: Store) -> Attacher:
    """Draws a message's certificate when it is sent (the PDF is never kept in the queue)."""

    async def attach(msg: MailMessage) -> list[Attachment]:
        if msg.certificate is None:
            return []
        event_id, cert_id = msg.certificate
        event = await events.load_event(store, event_id)
        cert = await certificates.load(store, event_id, cert_id)
        pdf = await certificates.render(store, event, cert)
        return [Attachment("certificate.pdf", "application/pdf", pdf)]

    return attach
