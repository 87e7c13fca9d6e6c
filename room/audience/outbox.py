"""The outbox: outgoing mail queued in the store, delivered with retries, each message at most once.

`Outbox.enqueue` takes an idempotency key (`registered:<event>:<email>`,
`thanks:<event>:<email>`, ...): a key already used enqueues nothing, so a
retried job or a second node never mails anyone twice. A worker on every node
takes a due message as a *lease*: a compare-and-set on the message record sets
`claimed_until` (one claimant each), then the message's time in the due set moves
to that deadline. It leaves the due set only once it was sent (or given up), and a
failure reschedules it with back-off. Nothing is ever popped: a worker that dies at
any point leaves the message due again when its lease ends, and another node (or
the restarted one) sends it. Only a death between handing the message to the
transport and recording it as sent can send it twice.

Storage stays bounded: a delivered (or given-up) message moves out of the queue's hash
to `keys.mail_done`, with a TTL of `keep` seconds (30 days). The idempotency keys stay in
`keys.MAIL_KEYS`: the key of a per-event mail names the event and is deleted with it
(`room.retention.purge_event`), so it is not left to a TTL.

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
KEEP = 30 * 86400.0
"""Seconds a delivered message is kept."""


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
    claimed_until: float = 0.0
    """The end of the lease of the worker sending it (0: nobody holds it)."""


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
        claim: float = CLAIM,
        keep: float = KEEP,
    ) -> None:
        self.store = store
        self.transport = transport
        self.mail_from = mail_from
        self.attach = attach
        self.backoff = backoff
        self.max_attempts = max_attempts
        self.poll = poll
        self.claim_for = claim
        self.keep = keep
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._store_down = False

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
        if raw is None:
            raw = await self.store.get(keys.mail_done(msg_id.decode()))
        return None if raw is None else decode(raw, MailMessage)

    async def _done(self, msg: MailMessage) -> None:
        """Record a message as delivered (or given up) and take it out of the queue: kept
        `keep` seconds more under its own key. Marked in the queue's hash first, so that a
        crash at any step here never sends it again."""
        await self.store.hset(keys.MAIL_MESSAGES, msg.id, encode(msg))
        await self.store.zrem(keys.MAIL_DUE, msg.id)
        await self.store.set(keys.mail_done(msg.id), encode(msg), ttl=self.keep)
        await self.store.hdel(keys.MAIL_MESSAGES, msg.id)

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
            except Exception as exc:
                await self._failed(exc)
            else:
                if self._store_down:
                    self._store_down = False
                    log.info("the store answers again: mail delivery resumes")
            self._wake.clear()
            # asyncio.wait, not wait_for: Python 3.11's wait_for can turn a cancellation
            # that meets its timeout into TimeoutError, and the worker would never stop.
            waiter = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({waiter}, timeout=self.poll)
            finally:
                waiter.cancel()

    async def _failed(self, exc: Exception) -> None:
        """A delivery pass failed: while the store is unreachable, one line when that starts
        (the mail waits in the store, nothing is lost); any other failure, its traceback."""
        if await self.store.ping():
            log.error("mail delivery pass failed", exc_info=exc)
        elif not self._store_down:
            self._store_down = True
            log.warning("the store is unreachable: mail delivery waits for it")

    async def deliver_due(self) -> int:
        """Send every message whose time has come; returns how many were sent."""
        sent = 0
        started = now()  # a message retried during this pass waits for the next one
        while not self._stopping:
            msg = await self.claim(started)
            if msg is None:
                return sent
            if await self._deliver(msg):
                sent += 1
        return sent

    async def claim(self, due_by: float | None = None) -> MailMessage | None:
        """Take the first message due by `due_by` (default: now) as a lease of `claim` seconds:
        until then no other worker takes it; after, it is due again unless it was sent."""
        due_by = now() if due_by is None else due_by
        while not self._stopping:
            head = await self.store.zrange(keys.MAIL_DUE, 0, 0)
            if not head or head[0][1] > due_by:
                return None
            msg_id = head[0][0]
            raw = await self.store.hget(keys.MAIL_MESSAGES, msg_id)
            msg = None if raw is None else decode(raw, MailMessage)
            if raw is None or msg is None or msg.sent_at is not None or msg.failed:
                await self.store.zrem(keys.MAIL_DUE, msg_id)  # done: a leftover entry
                continue
            at = now()
            if msg.claimed_until > at:  # held by a worker that has not moved it yet
                await self.store.zadd(keys.MAIL_DUE, msg_id, msg.claimed_until)
                continue
            msg.claimed_until = at + self.claim_for
            if not await self.store.hcas(keys.MAIL_MESSAGES, msg_id, raw, encode(msg)):
                continue  # another worker took it (or it changed): look again
            await self.store.zadd(keys.MAIL_DUE, msg_id, msg.claimed_until)
            return msg
        return None

    async def _deliver(self, msg: MailMessage) -> bool:
        """Send a claimed message; record the outcome, then release the lease."""
        msg_id = msg.id
        msg.claimed_until = 0.0
        try:
            attachments = await self.attach(msg) if self.attach and msg.certificate else []
            await self.transport.send(compose(msg, self.mail_from, attachments))
        except Exception as exc:  # any failure is retried; it never reaches the caller
            msg.attempts += 1
            msg.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if msg.attempts >= self.max_attempts:
                msg.failed = True
                await self._done(msg)
                log.error("giving up mail %s to %s: %s", msg.key, msg.to, msg.last_error)
            else:
                delay = self.backoff[min(msg.attempts, len(self.backoff)) - 1]
                await self.store.hset(keys.MAIL_MESSAGES, msg_id, encode(msg))
                await self.store.zadd(keys.MAIL_DUE, msg_id, now() + delay)
                log.warning(
                    "mail %s to %s failed (attempt %d), retrying in %ss: %s",
                    msg.key,
                    msg.to,
                    msg.attempts,
                    delay,
                    msg.last_error,
                )
            return False
        msg.attempts += 1
        msg.sent_at = now()
        await self._done(msg)
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
