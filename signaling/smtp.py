"""Mail transports, handed to the outbox by the edge: SMTP, or `.eml` files in a directory.

The domain's outbox (`room.audience.outbox`) queues and retries; it never opens
a connection. `transport_for` picks SMTP when `--smtp-url` is set, else the
embedded default, which writes each message into `<data-dir>/outbox`.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib

from room import files
from room.audience.outbox import Transport
from room.errors import invalid
from room.records import new_id, now


class DirectoryTransport:
    """The embedded default: each message becomes an .eml file in a directory."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> None:
        files.private_dir(self.directory)  # the letters carry sign-in links
        name = f"{now():.6f}-{new_id('mail')}.eml"
        tmp = self.directory / (name + ".tmp")
        files.write_private(tmp, message.as_bytes(), sync=False)
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
