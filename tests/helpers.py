"""Test helpers: run a real Tribune server on a free port and drive it with real clients."""

from __future__ import annotations

import asyncio
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio
from aiohttp import web

from room import events as ev
from room.accounts.account import create_account
from room.records import Account, Event, Invitation, Plan
from room.types import Role
from signaling.app import build_app
from signaling.config import Config
from signaling.context import KEY, Tribune


@dataclass
class Server:
    """A Tribune app listening on 127.0.0.1, with shortcuts to set up accounts and links."""

    runner: web.AppRunner
    url: str
    app: web.Application
    clients: list[Client] = field(default_factory=list)

    @property
    def tribune(self) -> Tribune:
        return self.app[KEY]

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)
        await self.runner.cleanup()

    async def account(self, name: str = "Acme", **plan: int) -> tuple[Account, str]:
        return await create_account(self.tribune.store, name, Plan(**plan))

    async def event(self, account: Account, **fields: Any) -> Event:
        fields.setdefault("title", "Test webinar")
        return await ev.create_event(self.tribune.store, account, ev.EventCreate(**fields))

    async def invite(
        self, event: Event, role: Role | str, name: str = "", shared: bool = False
    ) -> tuple[Invitation, str]:
        inv = await ev.invite(
            self.tribune.store,
            event,
            ev.InvitationCreate(role=Role(role), name=name, shared=shared),
        )
        return inv, self.token(inv)

    def token(self, inv: Invitation) -> str:
        return self.tribune.tokens.sign_invitation(inv)

    async def setup(self, **plan: int) -> Setup:
        """An account, a webinar and a link for every role (participant link shared)."""
        account, key = await self.account(**plan)
        event = await self.event(account)
        tokens = {}
        for role in Role:
            shared = role in (Role.PARTICIPANT, Role.SCREEN)
            _, tokens[role.value] = await self.invite(
                event, role, name=role.value.title(), shared=shared
            )
        return Setup(self, account, key, event, tokens)

    async def client(
        self,
        token: str,
        namespace: str = "/room",
        device: str | None = None,
        name: str = "",
        identity: str | None = None,
    ) -> Client:
        """A connected client; `identity`: a shared link's identity token to present."""
        c = Client(self.url, namespace)
        self.clients.append(c)
        await c.connect(token, device or secrets.token_hex(8), name, identity)
        return c


@dataclass
class Setup:
    server: Server
    account: Account
    api_key: str
    event: Event
    tokens: dict[str, str]

    async def join(
        self, role: str, device: str | None = None, name: str = "", identity: str | None = None
    ) -> Client:
        return await self.server.client(
            self.tokens[role], device=device, name=name, identity=identity
        )


async def start_server(**config: Any) -> Server:
    cfg = Config(host="127.0.0.1", port=0, **config)
    app = build_app(cfg)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    cfg.port = port
    return Server(runner=runner, url=f"http://127.0.0.1:{port}", app=app)


class Refused(Exception):
    def __init__(self, data: Any) -> None:
        super().__init__(repr(data))
        self.data = data
        self.code = data.get("code") if isinstance(data, dict) else None


@dataclass
class Client:
    """A real python-socketio client over TCP (websocket, msgpack) that records what it gets."""

    url: str
    namespace: str = "/room"
    sio: socketio.AsyncClient = field(
        default_factory=lambda: socketio.AsyncClient(serializer="msgpack", reconnection=False)
    )
    received: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    _cond: asyncio.Condition = field(default_factory=asyncio.Condition)
    refused: Any = None

    async def connect(
        self, token: str, device: str, name: str = "", identity: str | None = None
    ) -> None:
        ns = self.namespace

        async def any_event(event: str, data: Any = None) -> None:
            async with self._cond:
                self.received[event].append(data)
                self._cond.notify_all()

        async def connect_error(data: Any) -> None:
            self.refused = data

        self.sio.on("*", any_event, namespace=ns)
        self.sio.on("connect_error", connect_error, namespace=ns)
        auth = {"token": token, "device": device}
        if name:
            auth["name"] = name
        if identity is not None:
            auth["identity"] = identity
        try:
            await self.sio.connect(
                self.url, namespaces=[ns], auth=auth, transports=["websocket"], wait_timeout=10
            )
        except socketio.exceptions.ConnectionError:
            await self.sio.disconnect()
            raise Refused(self.refused) from None

    async def call(self, event: str, payload: Any = None, timeout: float = 10) -> Any:
        if payload is None:
            payload = {}
        return await self.sio.call(event, payload, namespace=self.namespace, timeout=timeout)

    async def wait_for(self, event: str, pred: Any = None, timeout: float = 10) -> Any:
        """Wait until an `event` satisfying `pred` arrived; returns its data."""

        def find() -> Any:
            for data in self.received.get(event, []):
                if pred is None or pred(data):
                    return data
            return None

        async with self._cond:
            found = find()
            deadline = asyncio.get_running_loop().time() + timeout
            while found is None:
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    raise AssertionError(
                        f"no {event!r} within {timeout}s; got {dict(self.received)}"
                    )
                try:
                    await asyncio.wait_for(self._cond.wait(), left)
                except TimeoutError:
                    pass
                found = find()
            return found

    async def identity(self) -> str:
        """The identity token the server issued to this shared-link connection."""
        return str((await self.wait_for("identity.issued"))["token"])

    def last(self, event: str) -> Any:
        items = self.received.get(event)
        return items[-1] if items else None

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected)

    async def close(self) -> None:
        await self.sio.disconnect()


async def http(
    method: str, url: str, key: str | None = None, json: Any = None, data: Any = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with aiohttp.ClientSession() as s:
        async with s.request(method, url, json=json, data=data, headers=headers) as r:
            try:
                body = await r.json(content_type=None)
            except ValueError:
                body = await r.text()
            return r.status, body
