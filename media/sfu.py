"""The SFU facade: publishers, subscribers and the stage between them.

One :class:`Sfu` per process. Signaling decides who may publish (it reserves
stage slots in ``room/``) and then calls these methods with opaque ids; the
SFU knows nothing of roles. It owns the stage and every connection, and keeps
subscribers' slots following the stage; the publish and subscribe sides live
in ``media/publisher.py`` and ``media/subscriber.py``, the connections'
lifecycle in ``media/peers.py``. See ``docs/media.md`` for the offer/answer flow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from aiortc import RTCPeerConnection, RTCSessionDescription

from media import rtc
from media.errors import InvalidDescription, SfuClosed, UnknownPeer
from media.forward import Feed
from media.peers import Peers
from media.publisher import Publisher, check_room, check_sources, enlarge_socket_buffer
from media.recorder import Recorder
from media.slots import Stage
from media.speaker import SpeakerWatch
from media.subscriber import Subscriber, offer_slots
from media.types import (
    IceServer,
    PeerClosedListener,
    PeerRole,
    SfuStats,
    Source,
    SpeakerListener,
    StageListener,
    StageTrack,
    SubscribeOffer,
    VideoCodec,
)

logger = logging.getLogger(__name__)

_Peer = TypeVar("_Peer", Publisher, Subscriber)
_Args = ParamSpec("_Args")


class Sfu:
    """Forwards every publisher's tracks to every subscriber, encoded as sent.

    ``video_slots`` / ``audio_slots`` size every subscribe connection (for
    example cameras + screens and microphones allowed on stage, from the
    plan); a track published beyond them raises :class:`NoFreeSlot`.
    ``on_stage_change`` is called (synchronously; schedule any I/O) with the
    new stage after every change; ``on_peer_closed`` when the SFU drops a
    connection on its own (ICE/DTLS failure, never connected, closed by the
    remote side), not after an explicit ``unpublish``/``unsubscribe``.
    ``on_speaker`` is told the active speaker (``media/speaker.py``: from the levels the
    audio packets carry, never decoded) when it changes, and again every few seconds.
    """

    def __init__(
        self,
        *,
        video_slots: int,
        audio_slots: int,
        video_codec: VideoCodec = "VP8",
        ice_servers: Iterable[IceServer] = (),
        on_stage_change: StageListener | None = None,
        on_peer_closed: PeerClosedListener | None = None,
        on_speaker: SpeakerListener | None = None,
        backlog_limit: int = 256 * 1024,
        connect_timeout: float = 30.0,
        keyframe_interval: float = 0.5,
    ) -> None:
        rtc.check_version()
        if video_codec not in ("VP8", "H264"):
            raise ValueError(f"unsupported video codec {video_codec!r}")
        self.video_codec: VideoCodec = video_codec
        self._stage = Stage(video_slots, audio_slots)
        self._peers = Peers(ice_servers, connect_timeout, self._connected, self._lost)
        self._on_stage_change = on_stage_change
        self._on_peer_closed = on_peer_closed
        self._backlog_limit = backlog_limit
        self._keyframe_interval = keyframe_interval
        self._publishers: dict[str, Publisher] = {}
        self._subscribers: dict[str, Subscriber] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_stage: tuple[StageTrack, ...] = ()
        self._closed = False
        self._publish_lock = asyncio.Lock()
        self._recorder: Recorder | None = None
        self._speaker = (
            None
            if on_speaker is None
            else SpeakerWatch(lambda: (f for _, f in self._stage.feeds()), on_speaker)
        )

    # -- publishing -------------------------------------------------------

    async def publish(
        self, publisher_id: str, offer_sdp: str, sources: Mapping[str, Source]
    ) -> str:
        """Answer a publisher's offer; returns the answer SDP.

        ``sources`` maps each m-line the publisher sends on (its ``mid``) to
        ``camera``, ``mic`` or ``screen``; those tracks go on stage. Calling
        again for the same publisher renegotiates its connection: sources no
        longer listed leave the stage, new ones join, stopped ones come back.
        """
        self._check_open()
        check_sources(offer_sdp, sources)
        # One negotiation at a time, so the room checked is the room placed.
        async with self._publish_lock:
            return await self._publish(publisher_id, offer_sdp, sources)

    async def _publish(
        self, publisher_id: str, offer_sdp: str, sources: Mapping[str, Source]
    ) -> str:
        publisher = self._publishers.get(publisher_id)
        check_room(self._stage, publisher.feeds if publisher else {}, sources)
        fresh = publisher is None
        if publisher is None:
            publisher = Publisher(
                publisher_id,
                self._peers.open(publisher_id, "publisher"),
                self.video_codec,
                self._keyframe_interval,
            )
        pc = publisher.pc
        try:
            await publisher.negotiate(offer_sdp, sources)
        except Exception as exc:
            if fresh:
                await self._peers.close(pc)
            if isinstance(exc, InvalidDescription):
                raise
            raise InvalidDescription(f"cannot answer offer: {exc}") from exc
        if fresh:
            self._publishers[publisher_id] = publisher
        publisher.place(self._stage, sources)
        self._stage_changed()
        return str(pc.localDescription.sdp)

    async def stop_track(self, publisher_id: str, source: Source) -> bool:
        """Take one source off stage; returns False if it was not on stage.

        The publisher should stop sending it too (``replaceTrack(null)``); to
        put it back, publish again (a fresh offer listing the source).
        """
        removed = _find(self._publishers, publisher_id).stop(self._stage, source)
        self._stage_changed()
        return removed

    async def unpublish(self, publisher_id: str) -> None:
        """Close a publisher's connection and take all its tracks off stage."""
        await self._drop_publisher(_take(self._publishers, publisher_id))

    def stage(self) -> tuple[StageTrack, ...]:
        """The published tracks on stage now, with the slot (mid) of each."""
        return self._stage.tracks()

    def stage_feeds(self) -> list[Feed]:
        """The feeds on stage now (a worker relays them to its siblings)."""
        return [feed for _, feed in self._stage.feeds()]

    def mirror(self, placed: dict[int, Feed]) -> None:
        """Hold another worker's stage: ``placed`` maps slots to relay feeds
        (``media/relay.py``); this SFU then has subscribers only."""
        self._stage.assign(placed)
        self._stage_changed()

    # -- subscribing ------------------------------------------------------

    async def subscribe(
        self, subscriber_id: str, *, skip_publisher: str | None = None
    ) -> SubscribeOffer:
        """Open a subscribe connection; returns the server's offer.

        The offer holds every slot (sendonly m-lines); the client answers with
        :meth:`answer`. Stage changes later reach it with no renegotiation.
        ``skip_publisher`` leaves that publisher's own tracks out (a presenter
        watching the stage). Subscribing again with the same id replaces the
        previous connection.
        """
        self._check_open()
        if subscriber_id in self._subscribers:
            await self.unsubscribe(subscriber_id)
        layout = self._stage.layout
        pc = self._peers.open(subscriber_id, "subscriber")
        try:
            slots = await offer_slots(pc, layout, self.video_codec, self._backlog_limit)
        except BaseException:
            await self._peers.close(pc)
            raise
        self._subscribers[subscriber_id] = Subscriber.start(
            subscriber_id, pc, layout, slots, skip_publisher
        )
        return SubscribeOffer(sdp=str(pc.localDescription.sdp), slots=layout)

    async def answer(self, subscriber_id: str, answer_sdp: str) -> None:
        """Apply a subscriber's answer to the offer :meth:`subscribe` returned."""
        subscriber = _find(self._subscribers, subscriber_id)
        try:
            await subscriber.pc.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))
        except Exception as exc:
            raise InvalidDescription(f"cannot apply answer: {exc}") from exc

    async def unsubscribe(self, subscriber_id: str) -> None:
        await self._drop_subscriber(_take(self._subscribers, subscriber_id))

    # -- lifecycle --------------------------------------------------------

    async def close(self) -> None:
        """Close every connection. The SFU cannot be used afterwards."""
        self._closed = True
        self.stop_recording()  # its files closed intact
        if self._speaker is not None:
            await self._speaker.stop()
        subscribers = list(self._subscribers.values())
        publishers = list(self._publishers.values())
        self._subscribers.clear()
        self._publishers.clear()
        for subscriber in subscribers:
            await self._drop_subscriber(subscriber)
        for publisher in publishers:
            await self._drop_publisher(publisher, notify=False)
        for pc in list(self._peers):
            await self._peers.close(pc)
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def stats(self) -> SfuStats:
        stats = SfuStats(
            publishers=len(self._publishers),
            subscribers=len(self._subscribers),
            peers=len(self._peers),
        )
        for publisher in self._publishers.values():
            for feed in publisher.feeds.values():
                stats.frames_received += feed.frames
                stats.keyframe_requests += feed.requester.sent
        for subscriber in self._subscribers.values():
            sent = sum(sink.sent for sink in subscriber.sinks)
            stats.per_subscriber[subscriber.id] = sent
            stats.frames_forwarded += sent
            stats.frames_dropped += sum(sink.dropped for sink in subscriber.sinks)
            for sink in subscriber.sinks:
                stats.packets_forwarded += sink.packets
                stats.bytes_forwarded += sink.octets
                stats.delay_sum += sink.delay_sum
                for i, n in enumerate(sink.delays):
                    stats.delay_counts[i] += n
        return stats

    # -- internals --------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise SfuClosed("the SFU is closed")

    # -- recording -------------------------------------------------------

    @property
    def recorder(self) -> Recorder | None:
        return self._recorder

    def start_recording(self, directory: Path, part: int = 1, offset: float = 0.0) -> Recorder:
        """Record every track on stage (and those that join) under ``directory``: the
        recording's part ``part``, which starts ``offset`` seconds into it."""
        self._check_open()
        if self._recorder is None:
            self._recorder = Recorder(directory, self.video_codec, part=part, offset=offset)
            self._recorder.follow(f for _, f in self._stage.feeds())
        return self._recorder

    def stop_recording(self) -> dict[str, Any] | None:
        """Close the recording's files; its manifest, or None when none runs."""
        recorder, self._recorder = self._recorder, None
        return None if recorder is None else recorder.stop()

    def _stage_changed(self) -> None:
        if self._speaker is not None and not self._closed:
            self._speaker.start()
        if self._recorder is not None:
            self._recorder.follow(f for _, f in self._stage.feeds())
        for subscriber in self._subscribers.values():
            if subscriber.live:
                subscriber.follow(self._stage)
        stage = self._stage.tracks()
        if stage != self._last_stage:
            self._last_stage = stage
            _notify("on_stage_change", self._on_stage_change, stage)

    def _connected(self, pc: RTCPeerConnection, peer_id: str, role: PeerRole) -> None:
        subscriber = self._subscribers.get(peer_id)
        if role == "subscriber" and subscriber is not None and subscriber.pc is pc:
            subscriber.live = True
            subscriber.follow(self._stage)
        elif role == "publisher":
            enlarge_socket_buffer(pc)

    def _lost(self, pc: RTCPeerConnection, peer_id: str, role: PeerRole) -> None:
        """A connection failed or never connected: drop whoever still owns it."""
        owner: Publisher | Subscriber | None = (
            self._publishers.get(peer_id) if role == "publisher" else self._subscribers.get(peer_id)
        )
        if owner is None or owner.pc is not pc:
            if pc in self._peers:  # owned by no one: close it all the same
                self._spawn(self._peers.close(pc))
            return
        if isinstance(owner, Publisher):
            del self._publishers[peer_id]
            self._spawn(self._drop_publisher(owner))
        else:
            del self._subscribers[peer_id]
            self._spawn(self._drop_subscriber(owner))
        logger.info("media: dropped %s %s (%s)", role, peer_id, pc.connectionState)
        _notify("on_peer_closed", self._on_peer_closed, peer_id, role)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drop_publisher(self, publisher: Publisher, *, notify: bool = True) -> None:
        publisher.leave(self._stage)
        if notify:
            self._stage_changed()
        await self._peers.close(publisher.pc)

    async def _drop_subscriber(self, subscriber: Subscriber) -> None:
        await subscriber.close()
        await self._peers.close(subscriber.pc)


def _find(peers: Mapping[str, _Peer], peer_id: str) -> _Peer:
    try:
        return peers[peer_id]
    except KeyError:
        raise UnknownPeer(peer_id) from None


def _take(peers: dict[str, _Peer], peer_id: str) -> _Peer:
    """Remove and return the peer; the id is gone before any await."""
    peer = peers.pop(peer_id, None)
    if peer is None:
        raise UnknownPeer(peer_id)
    return peer


def _notify(
    name: str, listener: Callable[_Args, None] | None, *args: _Args.args, **kwargs: _Args.kwargs
) -> None:
    """Run a caller's listener; its failure is logged and never reaches the SFU."""
    if listener is None:
        return
    try:
        listener(*args, **kwargs)
    except Exception:
        logger.exception("media: %s failed", name)
