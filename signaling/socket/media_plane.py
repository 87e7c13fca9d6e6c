"""Where an event's media runs: one owner node per event, every call routed to it.

Any node accepts `media.*` calls. The plane claims the event for this node when it
has no owner in office (`room.nodes`), runs the call on its own SFU when it is the
owner, and otherwise sends it to the owner over the media bus: signaling lands
anywhere, media always goes to the owner, whose answers carry its own addresses.

Every `owner_every` seconds the plane renews this node's heartbeat and its events'
leases, and takes over the events whose owner lapsed (its node died). Whoever takes
an event over tells the room `media.restart` with the new owner's epoch: the pages
subscribe again and publishers publish again, on the new owner. On drain, the node
hands each of its events to another live node the same way. Whenever this node
becomes an event's owner, the `owner_listeners` are told (a recording that was running
on the former owner goes on here as its next part).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from media import IceServer
from media.rtc import restrict_host_addresses
from room import nodes, tasks
from room.errors import Code, TribuneError
from room.store import Store
from signaling.outage import is_store_outage
from signaling.schemas.media import Restart, Tracks, TrackView
from signaling.socket.fanout import ROOM
from signaling.socket.hub import Hub
from signaling.socket.media_bus import MediaBus, OwnerGone
from signaling.socket.media_local import (
    LocalMedia,
    RecordingListener,
    SpeakerListener,
    host_candidates,
)

log = logging.getLogger(__name__)


def track_views(tracks: list[list[str]]) -> list[TrackView]:
    return [TrackView(*t) for t in tracks]


class MediaPlane:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.store: Store = hub.store
        config = hub.config
        self.node_id = secrets.token_hex(6)
        self.media_host = ",".join(host_candidates(config) or [config.host])
        self.ttl = config.media_lease
        self.every = config.media_every
        self.ice = [IceServer.parse(u) for u in config.ice_servers]
        restrict_host_addresses(host_candidates(config))
        self.recording_listeners: list[RecordingListener] = []
        """Told when an owner here stops or warns about a recording on its own (quota)."""
        self.speaker_listeners: list[SpeakerListener] = []
        """Told the active speaker of each event this node owns (`signaling/socket/speaker.py`)."""
        self.owner_listeners: list[Callable[[str], Awaitable[None]]] = []
        """Told (event id) when this node becomes the owner of an event's media."""
        self.local = LocalMedia(
            self.store,
            self.ice,
            self._tracks,
            hub.background,
            data_dir=config.data_dir,
            on_recording=self._recording,
            on_speaker=self._speaker,
            workers=config.media_workers,
            ice_urls=tuple(config.ice_servers),
            hosts=host_candidates(config),
            on_restart=self._worker_restart,
        )
        self.bus = (
            MediaBus(config.redis_url, self.node_id, self._serve) if config.redis_url else None
        )
        self.owned: dict[str, nodes.Owner] = {}
        """The events this node owns the media of, with the lease it renews."""
        self._loop: asyncio.Task[None] | None = None
        self._down = False
        self._back_at = 0.0
        """When the store last answered again: no takeover for two leases after it, so that
        owners cut off by the same outage renew first."""

    @property
    def sfus(self) -> dict[str, Any]:
        return self.local.sfus

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        await self.local.start()
        if self.bus is not None:
            await self.bus.start()
        try:
            await self._tick()
        except Exception:  # the loop retries; a store outage at start-up must not stop us
            log.warning("media plane: first heartbeat failed; retrying", exc_info=True)
        self._loop = asyncio.create_task(self._every())

    async def close(self) -> None:
        if self._loop is not None:
            await tasks.stop(self._loop)
        await self.local.close()
        try:  # the others take this node's events over at once, not after the lease
            await nodes.leave(self.store, self.node_id)
        except Exception:
            log.warning("media plane: could not leave the registry")
        if self.bus is not None:
            await self.bus.stop()

    async def now(self) -> float:
        """The one clock every node agrees on: the store's."""
        return await self.store.now()

    async def _every(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_store_outage(exc):
                    log.exception("media plane: heartbeat failed")
                    continue
                if not self._down:  # one line per state change, not one per beat
                    log.warning("media plane: the store is unreachable; owners are kept")
                    self._down = True
                continue
            if self._down:
                log.warning("media plane: the store answers again")
                self._down = False
                self._back_at = time.monotonic()

    async def _tick(self) -> None:
        now = await self.now()
        await nodes.heartbeat(self.store, self.node_id, self.media_host, self.ttl, now)
        for event_id, mine in list(self.owned.items()):
            renewed = await nodes.renew(self.store, event_id, mine, self.ttl, now)
            if renewed is None:
                log.warning("media plane: event %s is owned by another node now", event_id)
                self.owned.pop(event_id, None)
                await self.local.close_event(event_id)
            else:
                self.owned[event_id] = renewed
        if time.monotonic() - self._back_at < 2 * self.ttl:
            return
        for event_id in await nodes.orphaned(self.store, now):
            await self._claim(event_id)

    # -- ownership ---------------------------------------------------------------------------
    async def _claim(self, event_id: str) -> nodes.Owner:
        claimed = await nodes.claim(self.store, event_id, self.node_id, self.ttl, await self.now())
        found = claimed.owner
        if found.node == self.node_id and not nodes.same_term(self.owned.get(event_id), found):
            self.owned[event_id] = found
            if claimed.took_over:
                log.info("media plane: took event %s over (epoch %s)", event_id, found.epoch)
                await self.restart(event_id, found.epoch)
            for listener in self.owner_listeners:
                try:
                    await listener(event_id)
                except Exception:
                    log.exception("media plane: a new owner's listener failed for %s", event_id)
        return found

    async def restart(self, event_id: str, epoch: str) -> None:
        """Tell the room that the media moved: pages subscribe and publish again."""
        await self.hub.fanout.emit_room(event_id, "media.restart", Restart(epoch), ROOM)

    async def _worker_restart(self, event_id: str) -> None:
        """A media worker of this node that served the event died and runs again: the
        pages start the event's media afresh, and a running recording goes on."""
        mine = self.owned.get(event_id)
        if mine is None:
            return
        await self.restart(event_id, mine.epoch + self.local.epoch_suffix(event_id))
        for listener in self.owner_listeners:
            try:
                await listener(event_id)
            except Exception:
                log.exception("media plane: a restart listener failed for %s", event_id)

    async def epoch(self, event_id: str) -> str:
        return (await self._claim(event_id)).epoch

    async def hand_over_all(self) -> None:
        """Drain: give every event this node owns to another live node."""
        others = [
            n for n in await nodes.live_nodes(self.store, await self.now()) if n.id != self.node_id
        ]
        for i, (event_id, mine) in enumerate(list(self.owned.items())):
            if not others:
                log.warning("media plane: no other node to hand event %s to", event_id)
                continue
            to = others[i % len(others)]
            theirs = await nodes.hand_over(
                self.store, event_id, mine, to.id, self.ttl, await self.now()
            )
            self.owned.pop(event_id, None)
            await self.local.close_event(event_id)
            if theirs is not None:
                log.info("media plane: handed event %s to node %s", event_id, to.id)
                await self.restart(event_id, theirs.epoch)

    # -- routing -----------------------------------------------------------------------------
    async def call(self, event_id: str, op: str, **args: Any) -> Any:
        """Run `op` on the event's owner: here, or over the bus."""
        for _ in range(3):  # an owner that dies mid-call is replaced, and the call goes on
            found = await self._claim(event_id)
            if found.node == self.node_id:
                return await self._run(op, event_id, args)
            if self.bus is None:
                raise TribuneError(Code.UNAVAILABLE, "the event's media runs on another node")

            async def still(found: nodes.Owner = found) -> bool:
                now = await self.now()
                current = await nodes.owner(self.store, event_id)
                return nodes.same_term(current, found) and await nodes.in_office(
                    self.store, current, now
                )

            try:
                return await self.bus.call(found.node, op, {"event_id": event_id, **args}, still)
            except OwnerGone:
                log.info("media plane: the owner of %s died during %s; asking again", event_id, op)
        raise TribuneError(Code.UNAVAILABLE, "the event's media moved; try again")

    async def call_if_owned(self, event_id: str, op: str, **args: Any) -> None:
        """`call` for clean-up: nothing when the event has no media owner at all, nor when
        its owner does not answer (it died: its SFU, and what was to be cleaned, went with
        it; the node that takes the event over starts afresh)."""
        if await nodes.owner(self.store, event_id) is None:
            return
        try:
            await self.call(event_id, op, **args)
        except TribuneError as exc:
            if exc.code is not Code.UNAVAILABLE:
                raise
            log.info("media plane: %s in %s skipped: %s", op, event_id, exc.message)

    async def _serve(self, op: str, args: dict[str, Any]) -> Any:
        """A call routed here by another node: run it if this node still owns the event."""
        event_id = str(args.pop("event_id"))
        found = await self._claim(event_id)
        if found.node != self.node_id:
            raise TribuneError(Code.UNAVAILABLE, "the event's media moved; try again")
        return await self._run(op, event_id, args)

    async def _run(self, op: str, event_id: str, args: dict[str, Any]) -> Any:
        if op == "subscribe":
            offer = await self.local.run(op, event_id, args)
            mine = self.owned.get(event_id)
            epoch = mine.epoch if mine is not None else ""
            return {**offer, "epoch": epoch + self.local.epoch_suffix(event_id)}
        if op != "close":
            return await self.local.run(op, event_id, args)
        await self.local.close_event(event_id)  # the event ended: give it up
        mine = self.owned.pop(event_id, None)
        if mine is not None:
            await nodes.release(self.store, event_id, mine)
        return None

    async def _tracks(self, event_id: str, tracks: list[list[str]]) -> None:
        await self.hub.fanout.emit_room(event_id, "media.tracks", Tracks(track_views(tracks)), ROOM)

    async def _recording(self, event_id: str, news: dict[str, Any]) -> None:
        for listener in self.recording_listeners:
            await listener(event_id, news)

    async def _speaker(self, event_id: str, news: dict[str, Any]) -> None:
        for listener in self.speaker_listeners:
            await listener(event_id, news)

    async def close_event(self, event_id: str) -> None:
        """The event ended: its owner closes the SFU and gives the event up."""
        await self.call_if_owned(event_id, "close")
