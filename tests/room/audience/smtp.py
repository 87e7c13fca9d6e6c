"""A real SMTP server (aiosmtpd) on a free port of this machine, in the test's event loop."""

from __future__ import annotations

import asyncio
import email
import email.policy
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP, Envelope, Session


class Inbox:
    """Receives every message the server accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []
        self._cond = asyncio.Condition()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        msg = email.message_from_bytes(
            envelope.original_content or b"", policy=email.policy.default
        )
        assert isinstance(msg, EmailMessage)
        async with self._cond:
            self.messages.append(msg)
            self.envelopes.append(envelope)
            self._cond.notify_all()
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    async def wait(self, count: int, timeout: float = 15) -> list[EmailMessage]:
        async with self._cond:
            await asyncio.wait_for(
                self._cond.wait_for(lambda: len(self.messages) >= count), timeout
            )
            return list(self.messages)


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self, port: int = 0) -> SmtpServer:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: SMTP(self.inbox, hostname="tribune-test", ident="test SMTP"),
            "127.0.0.1",
            port,
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
