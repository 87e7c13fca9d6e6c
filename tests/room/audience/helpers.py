"""Helpers of the audience tests: a cookie-keeping HTTP client and the mail outbox."""

from __future__ import annotations

import asyncio
import email
import email.policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp

from room.accounts.users import UserKind, create_user
from tests.helpers import Server

PASSWORD = "correct horse battery"


class Web:
    """A browser-like HTTP client: keeps cookies and sends the dashboard's request header."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def call(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        data: Any = None,
        csrf: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        h = {"X-Requested-With": "tribune"} if csrf else {}
        h.update(headers or {})
        async with self.session.request(
            method, self.base + path, json=json, data=data, headers=h
        ) as r:
            try:
                body = await r.json(content_type=None)
            except ValueError:
                body = await r.text()
            return r.status, body

    async def raw(self, path: str) -> tuple[int, bytes, Any]:
        async with self.session.get(self.base + path) as r:
            return r.status, await r.read(), r.headers

    async def login(self, email: str, password: str = PASSWORD) -> tuple[int, Any]:
        return await self.call("POST", "/api/v1/auth/login", {"email": email, "password": password})

    async def close(self) -> None:
        await self.session.close()


async def organizer(server: Server, email: str = "org@acme.test", **plan: int):
    """An account with an organizer login; returns (account, api_key, user)."""
    account, key = await server.account(**plan)
    user = await create_user(
        server.tribune.store, account, email, "Olga Organizer", UserKind.ORGANIZER, PASSWORD
    )
    return account, key, user


def outbox_dir(server: Server) -> Path:
    return Path(server.tribune.config.data_dir) / "outbox"


def read_outbox(server: Server) -> list[EmailMessage]:
    out = []
    folder = outbox_dir(server)
    if folder.exists():
        for path in sorted(folder.glob("*.eml")):
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            out.append(msg)
    return out


async def wait_for_mail(
    server: Server, to: str, count: int = 1, timeout: float = 15
) -> list[EmailMessage]:
    """The messages to `to` once at least `count` arrived in the outbox."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = [m for m in read_outbox(server) if m["To"] == to]
        if len(found) >= count:
            return found
        if loop.time() > deadline:
            raise AssertionError(
                f"no mail to {to} within {timeout}s: {[m['To'] for m in read_outbox(server)]}"
            )
        await asyncio.sleep(0.05)


def body_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())
