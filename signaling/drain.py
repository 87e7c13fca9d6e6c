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
    try:
        async with asyncio.timeout(seconds):
            await run_hooks("drain", hub.on_drain)
            await close_all(hub)
            while True:
                if not hub.sessions:
                    break
                await asyncio.sleep(0.05)
    except TimeoutError:
        log.warning("drained for %.0f s: %d connections still open", seconds, len(hub.sessions))
        return False
    log.info("drained in %.1f s", seconds - (deadline - loop.time()))
    return True


async def close_all(hub: Hub) -> None:
    """Close every connection's transport. Not a Socket.IO disconnect, after which a page
    would stay away: a closed transport is a network failure to the client, which it
    answers by reconnecting."""
    eio_sids = set()
    for sid, session in list(hub.sessions.items()):
        eio_sid = hub.sio.manager.eio_sid_from_sid(sid, session.namespace)
        if eio_sid is not None:
            eio_sids.add(eio_sid)
    for eio_sid in eio_sids:
        await hub.sio.eio.disconnect(eio_sid)
