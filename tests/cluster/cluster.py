"""Two nodes on one redis-server (AOF) behind haproxy, all on 127.0.0.1, and what a test
needs to drive them: the event set up in the shared store, links signed with the nodes'
secret, real Socket.IO clients on the balancer or on one node."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from room import events as ev
from room.accounts.account import create_account
from room.records import Event, Plan
from room.store_redis import RedisStore
from room.types import AccessMode, Role
from signaling.tokens import Tokens
from tests.cluster.nodes import Balancer, Node
from tests.cluster.redis import Redis
from tests.helpers import Client


@dataclass
class Webinar:
    event: Event
    api_key: str
    tokens: dict[str, str]


@dataclass
class Cluster:
    redis: Redis
    a: Node
    b: Node
    balancer: Balancer
    store: RedisStore
    """The test's own connection to the cluster's Redis (to set up and to check)."""
    tokens: Tokens
    clients: list[Client] = field(default_factory=list)

    @classmethod
    async def start(cls, workdir: Path) -> Cluster:
        redis = Redis(workdir / "redis")
        redis.start()
        secret = secrets.token_hex(32)
        nodes: list[Node] = []
        balancer: Balancer | None = None
        store = RedisStore(redis.url)
        try:
            balancer = Balancer(workdir, nodes)
            for name in ("a", "b"):
                nodes.append(Node(name, workdir, redis.url, secret, balancer.url))
            await asyncio.gather(*(n.start() for n in nodes))
            await balancer.start()
            await store.start()
        except BaseException:
            await asyncio.gather(*(p.stop() for p in [*nodes, *([balancer] if balancer else [])]))
            redis.kill()
            raise
        return cls(redis, nodes[0], nodes[1], balancer, store, Tokens(secret))

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)
        await self.balancer.stop()
        await asyncio.gather(self.a.stop(), self.b.stop())
        await self.store.close()
        self.redis.kill()

    @property
    def nodes(self) -> list[Node]:
        return [self.a, self.b]

    async def webinar(self, access_mode: str = "open") -> Webinar:
        """An account, a webinar and a link for every role (participant link shared)."""
        account, key = await create_account(self.store, "Acme", Plan())
        create = ev.EventCreate(title="Cluster", access_mode=AccessMode(access_mode))
        event = await ev.create_event(self.store, account, create)
        tokens = {}
        for role in Role:
            shared = role in (Role.PARTICIPANT, Role.SCREEN)
            inv = await ev.invite(
                self.store, event, ev.InvitationCreate(role=role, name=role.title(), shared=shared)
            )
            tokens[role.value] = self.tokens.sign(inv.event_id, inv.id, inv.role, inv.gen)
        return Webinar(event, key, tokens)

    async def join(
        self, w: Webinar, role: str, via: Node | Balancer | None = None, namespace: str = "/room"
    ) -> Client:
        """A connected client: through the balancer (hashed on the event, as the pages do)
        unless `via` names a node."""
        url = (via or self.balancer).url + f"/?event={w.event.id}"
        c = Client(url, namespace)
        self.clients.append(c)
        await c.connect(w.tokens[role], secrets.token_hex(8))
        return c
