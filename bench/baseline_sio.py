"""Baseline A for bench/signaling.py: a bare python-socketio server doing what Tribune does
for the benchmark, and nothing else.

Same stack as Tribune (python-socketio AsyncServer on aiohttp, msgpack serializer, uvloop),
left at python-socketio's defaults otherwise, so aiohttp negotiates permessage-deflate
when a client offers it. `/room` accepts `auth: {token, device}`, puts the connection in
one room and sends it a `room.state` snapshot; `hand.raise` and `hand.next` keep an
in-memory hand queue and broadcast `hand.queue {queue, rev}` to the room; `event.start`
only acknowledges.

    python bench/baseline_sio.py --port 9001
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import socketio
from aiohttp import web

ROOM = "/room"
EVENT = "ev"


def build(args: argparse.Namespace) -> web.Application:
    sio = socketio.AsyncServer(
        async_mode="aiohttp", serializer="msgpack", ping_interval=20, ping_timeout=20
    )
    app = web.Application()
    sio.attach(app)
    people: dict[str, str] = {}  # sid -> identity
    hands: dict[str, float] = {}  # identity -> raised at (insertion order = queue order)
    rev = 0
    pending: set[asyncio.Future[None]] = set()

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/healthz", healthz)

    async def send_state(sid: str) -> None:
        await asyncio.sleep(0)  # after the CONNECT packet, as Tribune does
        await sio.emit(
            "room.state",
            {
                "event": {"id": EVENT, "title": "Bench", "kind": "webinar", "state": "live"},
                "you": {"person": people.get(sid), "role": "participant", "connected": True},
                "roster": [],
                "count": len(people),
                "hands": list(hands),
                "rev": rev,
            },
            to=sid,
            namespace=ROOM,
        )

    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if not isinstance(auth, dict) or not isinstance(auth.get("device"), str):
            raise socketio.exceptions.ConnectionRefusedError({"code": "invalid"})
        people[sid] = str(auth.get("token", ""))[:8] + "." + auth["device"][:64]
        await sio.enter_room(sid, EVENT, namespace=ROOM)
        task = asyncio.ensure_future(send_state(sid))
        pending.add(task)
        task.add_done_callback(pending.discard)

    async def disconnect(sid: str, reason: Any = None) -> None:
        people.pop(sid, None)

    async def broadcast() -> None:
        nonlocal rev
        rev += 1
        await sio.emit("hand.queue", {"queue": list(hands), "rev": rev}, room=EVENT, namespace=ROOM)

    async def hand_raise(sid: str, *args: Any) -> dict[str, Any]:
        ident = people.get(sid)
        if ident is not None and ident not in hands:
            hands[ident] = time.time()
            await broadcast()
        return {"ok": True}

    async def hand_next(sid: str, *args: Any) -> dict[str, Any]:
        person = next(iter(hands), None)
        if person is not None:
            del hands[person]
            await broadcast()
        return {"ok": True, "person": person}

    async def event_start(sid: str, *args: Any) -> dict[str, Any]:
        return {"ok": True, "state": "live"}

    for event, handler in [
        ("connect", connect),
        ("disconnect", disconnect),
        ("hand.raise", hand_raise),
        ("hand.next", hand_next),
        ("event.start", event_start),
    ]:
        sio.on(event, handler, namespace=ROOM)
    return app


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9001)
    args = p.parse_args()
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # pragma: no cover
        pass
    web.run_app(build(args), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
