"""Draining a node before it stops (SIGTERM on `tribune serve`): it stops admitting, hands
its work over, closes its connections so their pages reconnect to another node, and
returns once it holds no connection or the timeout has passed.

While draining, `/healthz` answers 503 "draining" (a balancer stops sending it traffic)
and a new Socket.IO connection is refused `unavailable` "this node is draining" (a page
retries, through the balancer, elsewhere). A closed connection keeps its person's seat,
role and hand for the grace period, as any dropped connection does, so the page that
reconnects on another node finds its place again.
"""

from __future__ import annotations

import asyncio
import logging

from signaling.socket.hub import Hub, run_hooks

log = logging.getLogger(__name__)


async def drain(hub: Hub, seconds: float) -> bool:
    """Drain `hub`'s node; True when every connection was gone within `seconds`."""
    hub.draining = True
    log.info("draining: no new connections; %d open, %.0f s at most", len(hub.sessions), seconds)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    closing: list[asyncio.Task[None]] = []
    try:
        async with asyncio.timeout(seconds):
            await run_hooks("drain", hub.on_drain)
            closing = close_all(hub)
            while True:
                if not hub.sessions:
                    break
                await asyncio.sleep(0.05)
            # Let the closes send their last packet; a peer that no longer reads is left.
            if closing:
                await asyncio.wait(closing, timeout=min(1.0, max(0.0, deadline - loop.time())))
    except TimeoutError:
        log.warning("drained for %.0f s: %d connections still open", seconds, len(hub.sessions))
        return False
    finally:
        for task in closing:
            task.cancel()
    log.info("drained in %.1f s", seconds - (deadline - loop.time()))
    return True


def close_all(hub: Hub) -> list[asyncio.Task[None]]:
    """Close every connection's transport, each in its own task: one whose peer no longer
    reads holds up no other. Not a Socket.IO disconnect, after which a page would stay
    away: a closed transport is a network failure to the client, which it answers by
    reconnecting. The hub forgets each connection as its close begins."""
    eio_sids = set()
    for sid, session in list(hub.sessions.items()):
        eio_sid = hub.sio.manager.eio_sid_from_sid(sid, session.namespace)
        if eio_sid is not None:
            eio_sids.add(eio_sid)
    return [asyncio.create_task(hub.sio.eio.disconnect(eio_sid)) for eio_sid in eio_sids]
