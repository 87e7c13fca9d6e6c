"""Assembles the aiohttp application: store, Socket.IO server, hub, HTTP API and pages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from aiohttp import web

from room.store import Store
from room.store_memory import MemoryStore
from room.store_redis import RedisStore
from signaling import export_jobs, http, renewals
from signaling.config import Config
from signaling.context import KEY, Tribune
from signaling.http.errors import errors_middleware
from signaling.socket import (
    audience,
    broadcast,
    media,
    moderation,
    polls,
    recording,
    room,
    speaker,
)
from signaling.socket.broadcast import LocalManager
from signaling.socket.hub import Hub
from signaling.socket.relay import RedisRelay
from signaling.socket.wire import Server, TolerantMsgPackPacket
from signaling.tokens import Tokens, load_secret

log = logging.getLogger(__name__)


def make_store(config: Config) -> Store:
    if config.redis_url:
        return RedisStore(config.redis_url)
    return MemoryStore(config.data_dir, snapshot_every=config.snapshot_every)


def _origin(url: str) -> str:
    """`scheme://host[:port]` as a browser sends it: lower case, the default port left out."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        return ""
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{(parts.hostname or '').lower()}"
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def allowed_origin(config: Config, origin: str | None) -> bool:
    """Whether a browser page of `origin` may open a Socket.IO connection: only the public
    URL's own pages (a cross-site page would ride its visitor's links). Read per request,
    because the port may be known only once the server listens. Engine.IO admits a request
    without an Origin header (not a browser page) before asking."""
    if not origin or origin == "null":
        return False
    own = _origin(config.base_url)
    return bool(own) and _origin(origin) == own


def make_sio(config: Config) -> Server:
    broadcast.install()
    manager: LocalManager | RedisRelay = LocalManager()
    if config.redis_url:
        # Emits fan out to every node through Redis pub/sub.
        manager = RedisRelay(config.redis_url, channel="tribune-sio")
    return Server(
        async_mode="aiohttp",
        client_manager=manager,
        serializer=TolerantMsgPackPacket,
        cors_allowed_origins=lambda origin, _environ=None: allowed_origin(config, origin),
        max_http_buffer_size=config.max_message,
        ws_compression=config.ws_compression,
        send_queue=config.send_queue,
        ping_interval=20,
        ping_timeout=20,
    )


def build_app(config: Config, store: Store | None = None) -> web.Application:
    """The whole server as one aiohttp app; `store` may be given by tests."""
    app = web.Application(middlewares=[errors_middleware], client_max_size=1024 * 1024)
    t = Tribune(config=config, store=store or make_store(config))
    app[KEY] = t
    sio = make_sio(config)
    sio.attach(app)

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        await t.store.start()
        t.tokens = Tokens(await load_secret(t.store, config.secret))
        t.hub = Hub(sio, t.store, t.tokens, config)
        room.register(t.hub)
        moderation.register(t.hub)
        polls.register(t.hub)
        t.media = plane = media.register(t.hub)
        recording.register(t.hub, plane)
        speaker.register(t.hub, plane)
        t.hub.fanout.metrics.media(lambda: plane.sfus)
        t.hub.start()
        await plane.start()
        yield
        await plane.close()
        await t.hub.stop()
        if isinstance(sio.manager, RedisRelay):
            await sio.manager.close()
        await t.store.close()

    app.cleanup_ctx.append(lifespan)
    http.setup(app)
    export_jobs.setup(app)  # after the lifespan above: it needs the store
    audience.setup(app)  # after the lifespan above: it needs the hub
    renewals.setup(app)  # after the audience: it mails invoices through its outbox
    return app
