"""The SFU: publish and subscribe peer connections, and the stage between them.

One :class:`Sfu` per process. Signaling decides who may publish (it reserves
stage slots in ``room/``) and then calls these methods with opaque ids; the
SFU knows nothing of roles. See ``docs/media.md`` for the offer/answer flow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.rtcrtpparameters import RTCRtpCodecCapability
from aiortc.sdp import SessionDescription

from media import rtc
from media.assembler import FrameAssembler
from media.errors import InvalidDescription, NoFreeSlot, SfuClosed, UnknownPeer
from media.forward import Feed, SlotSink
from media.keyframe import KeyframeRequester
from media.outbound import RtpWriter, SenderReports
from media.peers import Peers
from media.slots import Stage
from media.types import (
    SOURCE_KIND,
    SOURCES,
    IceServer,
    Kind,
    PeerClosedListener,
    PeerRole,
    SfuStats,
    Source,
    StageListener,
    StageTrack,
    SubscribeOffer,
    VideoCodec,
)

logger = logging.getLogger(__name__)

_PUBLISH_RCVBUF = 4 << 20  # bytes; the kernel caps it at net.core.rmem_max


@dataclass(eq=False)
class _Publisher:
    id: str
    pc: RTCPeerConnection
    feeds: dict[str, Feed] = field(default_factory=dict)
    """One feed per negotiated m-line (mid), kept while the connection lives."""


@dataclass(eq=False)
class _Subscriber:
    id: str
    pc: RTCPeerConnection
    sinks: list[SlotSink]
    reports: SenderReports
    skip_publisher: str | None
    live: bool = False
    """Connected: its slots follow the stage."""


class Sfu:
    """Forwards every publisher's tracks to every subscriber, encoded as sent.

    ``video_slots`` / ``audio_slots`` size every subscribe connection (for
    example cameras + screens and microphones allowed on stage, from the
    plan); a track published beyond them raises :class:`NoFreeSlot`.
    ``on_stage_change`` is called (synchronously; schedule any I/O) with the
    new stage after every change; ``on_peer_closed`` when the SFU drops a
    connection on its own (ICE/DTLS failure, never connected, closed by the
    remote side), not after an explicit ``unpublish``/``unsubscribe``.
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
        self._publishers: dict[str, _Publisher] = {}
        self._subscribers: dict[str, _Subscriber] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_stage: tuple[StageTrack, ...] = ()
        self._closed = False
        self._publish_lock = asyncio.Lock()

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
        self._check_sources(offer_sdp, sources)
        # One negotiation at a time, so the room checked is the room placed.
        async with self._publish_lock:
            return await self._publish(publisher_id, offer_sdp, sources)

    async def _publish(
        self, publisher_id: str, offer_sdp: str, sources: Mapping[str, Source]
    ) -> str:
        publisher = self._publishers.get(publisher_id)
        self._check_room(publisher.feeds if publisher else {}, sources)
        fresh = publisher is None
        if publisher is None:
            publisher = _Publisher(publisher_id, self._peers.open(publisher_id, "publisher"))
        pc = publisher.pc
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            for transceiver in pc.getTransceivers():
                self._prepare_receiver(publisher, transceiver, sources)
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            if fresh:
                await self._peers.close(pc)
            if isinstance(exc, InvalidDescription):
                raise
            raise InvalidDescription(f"cannot answer offer: {exc}") from exc
        if fresh:
            self._publishers[publisher_id] = publisher
        for mid, feed in publisher.feeds.items():
            if mid in sources:
                feed.source = sources[mid]
                self._stage.place(feed)
            else:
                self._stage.remove(feed)
        self._stage_changed()
        return str(pc.localDescription.sdp)

    async def stop_track(self, publisher_id: str, source: Source) -> bool:
        """Take one source off stage; returns False if it was not on stage.

        The publisher should stop sending it too (``replaceTrack(null)``); to
        put it back, publish again (a fresh offer listing the source).
        """
        publisher = self._publisher(publisher_id)
        removed = False
        for feed in publisher.feeds.values():
            if feed.source == source and self._stage.remove(feed) is not None:
                removed = True
        self._stage_changed()
        return removed

    async def unpublish(self, publisher_id: str) -> None:
        """Close a publisher's connection and take all its tracks off stage."""
        publisher = self._publishers.pop(publisher_id, None)
        if publisher is None:
            raise UnknownPeer(publisher_id)
        await self._drop_publisher(publisher)

    def stage(self) -> tuple[StageTrack, ...]:
        """The published tracks on stage now, with the slot (mid) of each."""
        return self._stage.tracks()

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
        pc = self._peers.open(subscriber_id, "subscriber")
        sinks: list[SlotSink] = []
        writers: list[RtpWriter] = []
        try:
            for slot in self._stage.layout:
                transceiver = pc.addTransceiver(slot.kind, direction="sendonly")
                transceiver.setCodecPreferences(self._preferences(slot.kind))
                rtc.release_idle_receiver(transceiver.receiver)
                writer = RtpWriter(transceiver.sender)
                writers.append(writer)
                sink = SlotSink(slot.kind, writer, self._backlog_limit)
                writer.on_ready = sink.writer_ready
                rtc.on_keyframe_request(transceiver.sender, sink.request_keyframe)
                sinks.append(sink)
            await pc.setLocalDescription(await pc.createOffer())
        except BaseException:
            await self._peers.close(pc)
            raise
        mids = [t.mid for t in pc.getTransceivers()]
        assert mids == [slot.mid for slot in self._stage.layout], mids
        reports = SenderReports(writers)
        reports.start()
        self._subscribers[subscriber_id] = _Subscriber(
            subscriber_id, pc, sinks, reports, skip_publisher
        )
        return SubscribeOffer(sdp=str(pc.localDescription.sdp), slots=self._stage.layout)

    async def answer(self, subscriber_id: str, answer_sdp: str) -> None:
        """Apply a subscriber's answer to the offer :meth:`subscribe` returned."""
        subscriber = self._subscriber(subscriber_id)
        try:
            await subscriber.pc.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))
        except Exception as exc:
            raise InvalidDescription(f"cannot apply answer: {exc}") from exc

    async def unsubscribe(self, subscriber_id: str) -> None:
        subscriber = self._subscribers.pop(subscriber_id, None)
        if subscriber is None:
            raise UnknownPeer(subscriber_id)
        await self._drop_subscriber(subscriber)

    # -- lifecycle --------------------------------------------------------

    async def close(self) -> None:
        """Close every connection. The SFU cannot be used afterwards."""
        self._closed = True
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
        return stats

    # -- internals --------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise SfuClosed("the SFU is closed")

    def _publisher(self, publisher_id: str) -> _Publisher:
        try:
            return self._publishers[publisher_id]
        except KeyError:
            raise UnknownPeer(publisher_id) from None

    def _subscriber(self, subscriber_id: str) -> _Subscriber:
        try:
            return self._subscribers[subscriber_id]
        except KeyError:
            raise UnknownPeer(subscriber_id) from None

    def _check_sources(self, offer_sdp: str, sources: Mapping[str, Source]) -> None:
        """Validate ``sources`` against the offer before touching any connection."""
        try:
            description = SessionDescription.parse(offer_sdp)
        except Exception as exc:
            raise InvalidDescription(f"unreadable SDP: {exc}") from exc
        kinds = {m.rtp.muxId: m.kind for m in description.media}
        seen: set[str] = set()
        for mid, source in sources.items():
            if source not in SOURCES:
                raise InvalidDescription(f"unknown source {source!r}")
            if source in seen:
                raise InvalidDescription(f"source {source!r} listed twice")
            seen.add(source)
            if mid not in kinds:
                raise InvalidDescription(f"no m-line with mid {mid!r}")
            if kinds[mid] != SOURCE_KIND[source]:
                raise InvalidDescription(
                    f"mid {mid!r} is {kinds[mid]}, {source} needs {SOURCE_KIND[source]}"
                )

    def _check_room(self, feeds: Mapping[str, Feed], sources: Mapping[str, Source]) -> None:
        """Raise NoFreeSlot before negotiating if the new tracks cannot go on stage."""
        needed: dict[Kind, int] = {"video": 0, "audio": 0}
        for mid, source in sources.items():
            feed = feeds.get(mid)
            if feed is None or self._stage.slot_of(feed) is None:
                needed[SOURCE_KIND[source]] += 1
        for mid, feed in feeds.items():
            if mid not in sources and self._stage.slot_of(feed) is not None:
                needed[feed.kind] -= 1
        for kind, count in needed.items():
            if count > self._stage.free(kind):
                raise NoFreeSlot(f"no free {kind} slot on stage")

    def _prepare_receiver(
        self,
        publisher: _Publisher,
        transceiver: RTCRtpTransceiver,
        sources: Mapping[str, Source],
    ) -> None:
        """Between setRemoteDescription and createAnswer: codec, direction, assembler."""
        mid = transceiver.mid
        if mid is None or mid not in sources:
            transceiver.direction = "inactive"
            return
        kind: Kind = "video" if transceiver.kind == "video" else "audio"
        mime = rtc.codec_mime(kind, self.video_codec)
        if not rtc.restrict_codecs(transceiver, mime):
            raise InvalidDescription(f"mid {mid!r} does not offer {mime}")
        transceiver.direction = "recvonly"
        if mid in publisher.feeds:
            return
        receiver = transceiver.receiver
        assembler: FrameAssembler

        def send_pli() -> bool:
            if assembler.ssrc is None:
                return False
            rtc.send_pli(receiver, assembler.ssrc)
            return True

        requester = KeyframeRequester(send_pli, min_interval=self._keyframe_interval)
        feed = Feed(publisher.id, sources[mid], kind, requester)
        assembler = FrameAssembler(
            kind,
            mime.split("/")[1],
            feed.deliver,
            lambda retry: requester.request(retry=retry),
        )
        rtc.replace_jitter_buffer(receiver, assembler)
        publisher.feeds[mid] = feed

    def _preferences(self, kind: Kind) -> list[RTCRtpCodecCapability]:
        """The one codec of ``kind`` a subscribe slot offers; no RTX (see
        ``rtc.restrict_codecs``: aiortc clients would drop RTX packets)."""
        wanted = rtc.codec_mime(kind, self.video_codec).lower()
        return [
            c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType.lower() == wanted
        ]

    def _stage_changed(self) -> None:
        for subscriber in self._subscribers.values():
            if subscriber.live:
                self._follow_stage(subscriber)
        stage = self._stage.tracks()
        if stage != self._last_stage:
            self._last_stage = stage
            if self._on_stage_change is not None:
                try:
                    self._on_stage_change(stage)
                except Exception:
                    logger.exception("media: on_stage_change failed")

    def _follow_stage(self, subscriber: _Subscriber) -> None:
        feeds = dict(self._stage.feeds())
        for slot, sink in enumerate(subscriber.sinks):
            feed = feeds.get(slot)
            if feed is not None and feed.publisher_id == subscriber.skip_publisher:
                feed = None
            sink.switch(feed)

    def _connected(self, pc: RTCPeerConnection, peer_id: str, role: PeerRole) -> None:
        subscriber = self._subscribers.get(peer_id)
        if role == "subscriber" and subscriber is not None and subscriber.pc is pc:
            subscriber.live = True
            self._follow_stage(subscriber)
        elif role == "publisher":
            for transceiver in pc.getTransceivers()[:1]:  # bundled: one transport
                rtc.enlarge_receive_buffers(transceiver.receiver, _PUBLISH_RCVBUF)

    def _lost(self, pc: RTCPeerConnection, peer_id: str, role: PeerRole) -> None:
        """A connection failed or never connected: drop whoever still owns it."""
        owner: _Publisher | _Subscriber | None = (
            self._publishers.get(peer_id) if role == "publisher" else self._subscribers.get(peer_id)
        )
        if owner is None or owner.pc is not pc:
            if pc in self._peers:  # owned by no one: close it all the same
                self._spawn(self._peers.close(pc))
            return
        if isinstance(owner, _Publisher):
            del self._publishers[peer_id]
            self._spawn(self._drop_publisher(owner))
        else:
            del self._subscribers[peer_id]
            self._spawn(self._drop_subscriber(owner))
        logger.info("media: dropped %s %s (%s)", role, peer_id, pc.connectionState)
        if self._on_peer_closed is not None:
            try:
                self._on_peer_closed(peer_id, role)
            except Exception:
                logger.exception("media: on_peer_closed failed")

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drop_publisher(self, publisher: _Publisher, *, notify: bool = True) -> None:
        for feed in publisher.feeds.values():
            self._stage.remove(feed)
            feed.close()
        if notify:
            self._stage_changed()
        await self._peers.close(publisher.pc)

    async def _drop_subscriber(self, subscriber: _Subscriber) -> None:
        for sink in subscriber.sinks:
            sink.close()
        await subscriber.reports.close()
        await self._peers.close(subscriber.pc)
