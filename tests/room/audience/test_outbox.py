"""The outbox: retries until the SMTP server answers, gives up after its attempts, never
sends twice; without SMTP, messages land as .eml files."""

from __future__ import annotations

import socket

from room.audience.outbox import Outbox
from room.keys import MAIL_DUE
from signaling.smtp import SmtpTransport, transport_for
from tests.room.audience.helpers import body_of
from tests.room.audience.smtp import SmtpServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_outbox_retries_until_the_server_answers_and_never_sends_twice(store, tmp_path):
    port = free_port()
    outbox = Outbox(
        store,
        SmtpTransport(f"smtp://127.0.0.1:{port}", timeout=5),
        "tribune@test.example",
        backoff=(0.0,),
        max_attempts=5,
    )
    assert await outbox.enqueue("k1", "ann@example.org", "Hello", "Body é")
    assert not await outbox.enqueue("k1", "ann@example.org", "Hello again", "Other body")
    assert await outbox.deliver_due() == 0  # nobody listens yet
    first = await outbox.get("k1")
    assert first.attempts == 1 and first.sent_at is None and "Error" in first.last_error
    smtp = await SmtpServer().start(port)
    try:
        assert await outbox.deliver_due() == 1
        assert await outbox.deliver_due() == 0
        sent = await outbox.get("k1")
        assert sent.attempts == 2 and sent.sent_at is not None
        [msg] = smtp.inbox.messages
        assert msg["To"] == "ann@example.org" and msg["From"] == "tribune@test.example"
        assert msg["Subject"] == "Hello" and body_of(msg).strip() == "Body é"
    finally:
        await smtp.stop()


async def test_outbox_gives_up_after_its_attempts(store):
    outbox = Outbox(
        store,
        SmtpTransport(f"smtp://127.0.0.1:{free_port()}", timeout=5),
        "t@x.org",
        backoff=(0.0,),
        max_attempts=2,
    )
    await outbox.enqueue("k", "a@b.org", "S", "T")
    await outbox.deliver_due()
    await outbox.deliver_due()
    msg = await outbox.get("k")
    assert msg.failed and msg.attempts == 2 and msg.sent_at is None
    assert await store.zcard(MAIL_DUE) == 0


async def test_without_smtp_mail_is_written_to_the_outbox_directory(store, tmp_path):
    outbox = Outbox(store, transport_for(None, tmp_path), "t@x.org")
    await outbox.enqueue("k", "a@b.org", "Subject", "Text")
    assert await outbox.deliver_due() == 1
    [path] = list((tmp_path / "outbox").glob("*.eml"))
    assert b"Subject: Subject" in path.read_bytes()


class Crash(BaseException):
    """The worker's process dies here (not an Exception: nothing may catch it)."""


class CrashingStore:
    """The real store, until the process dies just before its call number `after` + 1."""

    def __init__(self, inner, after: int) -> None:
        self.inner, self.after, self.calls = inner, after, 0

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        async def call(*args, **kwargs):
            self.calls += 1
            if self.calls > self.after:
                raise Crash
            return await method(*args, **kwargs)

        return call


async def test_a_worker_dying_anywhere_in_a_delivery_loses_no_mail(store, tmp_path):
    """Kill the worker before each store call of one delivery in turn; a new outbox on the same
    store then sends the message, and only if the dead worker had not recorded it as sent."""
    import asyncio

    from signaling.smtp import DirectoryTransport

    dead_dir, live_dir = tmp_path / "dead", tmp_path / "live"
    counter = CrashingStore(store, after=10**6)
    probe = Outbox(counter, DirectoryTransport(dead_dir), "t@x.org", claim=0.2)
    await Outbox(store, DirectoryTransport(dead_dir), "t@x.org").enqueue("probe", "a@b.org", "S", "T")
    assert await probe.deliver_due() == 1
    steps = counter.calls
    for n in range(steps):
        key = f"k{n}"
        await Outbox(store, DirectoryTransport(dead_dir), "t@x.org").enqueue(key, "a@b.org", key, "T")
        dying = Outbox(CrashingStore(store, after=n), DirectoryTransport(dead_dir), "t@x.org", claim=0.2)
        try:
            await dying.deliver_due()
        except Crash:
            pass
        recorded = (await probe.get(key)).sent_at is not None  # (probe's store is the real one)
        live = Outbox(store, DirectoryTransport(live_dir), "t@x.org", claim=0.2)
        for _ in range(200):
            if (await live.get(key)).sent_at is not None:
                break
            await live.deliver_due()
            await asyncio.sleep(0.05)
        assert (await live.get(key)).sent_at is not None, f"mail lost after a crash at step {n}"
        sent_by_live = [p for p in live_dir.glob("*.eml") if f"Subject: {key}\n" in p.read_text()]
        assert len(sent_by_live) == (0 if recorded else 1), f"crash at step {n}"
    for _ in range(200):  # a sent message's leftover entry is dropped once its lease ended
        if await store.zcard(MAIL_DUE) == 0:
            break
        assert await live.deliver_due() == 0
        await asyncio.sleep(0.05)
    assert await store.zcard(MAIL_DUE) == 0
