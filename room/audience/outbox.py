"""The outbox: outgoing mail queued in the store, delivered with retries, each message at most once.

`Outbox.enqueue` takes an idempotency key (`registered:<event>:<email>`,
`thanks:<event>:<email>`, ...): a key already used enqueues nothing, so a
retried job or a second node never mails anyone twice. A worker on every node
claims due messages with `zpopmin` (one claimant each), pushes the claim's
deadline back while sending, and on failure reschedules with back-off.

The network is not the domain's: a `Transport` is passed in by the edge
(`signaling.smtp`: SMTP, or `.eml` files in a directory). What each message
says is in `room.audience.letters`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

import msgspec

from room import keys, tasks
from room.records import decode, encode, new_id, now
from room.store import Store

log = logging.getLogger(__name__)


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
        if not await self.store.hsetnx(keys.MAIL_KEYS, key, msg.id.encode()):
            return False
        await self.store.hset(keys.MAIL_MESSAGES, msg.id, encode(msg))
        await self.store.zadd(keys.MAIL_DUE, msg.id, now())
        self._wake.set()
        return True

    async def get(self, key: str) -> MailMessage | None:
        msg_id = await self.store.hget(keys.MAIL_KEYS, key)
        if msg_id is None:
            return None
        raw = await self.store.hget(keys.MAIL_MESSAGES, msg_id.decode())
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
            head = await self.store.zrange(keys.MAIL_DUE, 0, 0)
            if not head or head[0][1] > started:
                return sent
            popped = await self.store.zpopmin(keys.MAIL_DUE)
            if popped is None:
                return sent
            msg_id, due = popped
            if due > started:  # another node took the one we saw; this one is not due yet
                await self.store.zadd(keys.MAIL_DUE, msg_id, due, nx=True)
                return sent
            # Claimed: if this node dies while sending, the message comes back after CLAIM.
            await self.store.zadd(keys.MAIL_DUE, msg_id, now() + CLAIM)
            if await self._deliver(msg_id):
                sent += 1
        return sent

    async def _deliver(self, msg_id: str) -> bool:
        raw = await self.store.hget(keys.MAIL_MESSAGES, msg_id)
        if raw is None:
            await self.store.zrem(keys.MAIL_DUE, msg_id)
            return False
        msg = decode(raw, MailMessage)
        if msg.sent_at is not None or msg.failed:
            await self.store.zrem(keys.MAIL_DUE, msg_id)
            return False
        try:
            attachments = await self.attach(msg) if self.attach and msg.certificate else []
            await self.transport.send(compose(msg, self.mail_from, attachments))
        except Exception as exc:  # any failure is retried; it never reaches the caller
            msg.attempts += 1
            msg.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if msg.attempts >= self.max_attempts:
                msg.failed = True
                await self.store.zrem(keys.MAIL_DUE, msg_id)
                log.error("giving up mail %s to %s: %s", msg.key, msg.to, msg.last_error)
            else:
                delay = self.backoff[min(msg.attempts, len(self.backoff)) - 1]
                await self.store.zadd(keys.MAIL_DUE, msg_id, now() + delay)
                log.warning(
                    "mail %s to %s failed (attempt %d), retrying in %ss: %s",
                    msg.key,
                    msg.to,
                    msg.attempts,
                    delay,
                    msg.last_error,
                )
            await self.store.hset(keys.MAIL_MESSAGES, msg_id, encode(msg))
            return False
        msg.attempts += 1
        msg.sent_at = now()
        await self.store.hset(keys.MAIL_MESSAGES, msg_id, encode(msg))
        await self.store.zrem(keys.MAIL_DUE, msg_id)
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
