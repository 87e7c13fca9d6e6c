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
