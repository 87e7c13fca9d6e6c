"""The SFU's open peer connections: built alike, watched, and dropped when lost.

Publish and subscribe connections share one configuration (the ICE servers,
max-bundle) and one lifecycle: a connection that fails, is closed by the remote
side or has not connected within ``connect_timeout`` is reported lost, and
whoever owns it decides what to drop. All share one DTLS certificate and
OpenSSL context (``rtc.share_certificate``). Like aiortc's example server, every
connection stays in one set until it is closed, so ``close()`` can reach them
all at shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.rtcconfiguration import RTCBundlePolicy

from media import rtc
from media.types import IceServer, PeerRole

PeerListener = Callable[[RTCPeerConnection, str, PeerRole], None]
"""Called with the connection, the id it was opened for and its role."""


class Peers:
    """The open peer connections, each with a deadline to connect.

    ``on_connected`` runs when a connection comes up; ``on_lost`` when it
    fails, is closed, or misses its deadline. Iterating yields the open
    connections.
    """

    def __init__(
        self,
        ice_servers: Iterable[IceServer],
        connect_timeout: float,
        on_connected: PeerListener,
        on_lost: PeerListener,
    ) -> None:
        self._ice_servers = [
            RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
            for s in ice_servers
        ]
        self._connect_timeout = connect_timeout
        self._on_connected = on_connected
        self._on_lost = on_lost
        self._open: set[RTCPeerConnection] = set()
        self._timers: dict[RTCPeerConnection, asyncio.TimerHandle] = {}

    def __iter__(self) -> Iterator[RTCPeerConnection]:
        return iter(self._open)

    def __len__(self) -> int:
        return len(self._open)

    def __contains__(self, pc: object) -> bool:
        return pc in self._open

    def open(self, peer_id: str, role: PeerRole) -> RTCPeerConnection:
        pc = RTCPeerConnection(
            RTCConfiguration(
                iceServers=self._ice_servers or None,
                bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
            )
        )
        rtc.share_certificate(pc)
        self._open.add(pc)

        @pc.on("connectionstatechange")
        def on_state() -> None:
            state = pc.connectionState
            if state == "connected":
                self._cancel_timer(pc)
                self._on_connected(pc, peer_id, role)
            elif state in ("failed", "closed"):
                self._on_lost(pc, peer_id, role)

        loop = asyncio.get_running_loop()
        self._timers[pc] = loop.call_later(
            self._connect_timeout, self._connect_expired, pc, peer_id, role
        )
        return pc

    async def close(self, pc: RTCPeerConnection) -> None:
        self._cancel_timer(pc)
        self._open.discard(pc)
        await pc.close()

    def _connect_expired(self, pc: RTCPeerConnection, peer_id: str, role: PeerRole) -> None:
        self._timers.pop(pc, None)
        if pc.connectionState != "connected":
            self._on_lost(pc, peer_id, role)

    def _cancel_timer(self, pc: RTCPeerConnection) -> None:
        timer = self._timers.pop(pc, None)
        if timer is not None:
            timer.cancel()
