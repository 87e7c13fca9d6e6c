"""Publishing peers: a presenter's connection, its offer checked and answered, a feed per track.

A publisher offers and the SFU answers, again on the same connection for
every change of what it sends. Each negotiated m-line the publisher sends on
gets one :class:`~media.forward.Feed`, kept while the connection lives, fed by
a :class:`~media.assembler.FrameAssembler` in place of aiortc's jitter buffer
(nothing is decoded). Which feeds are on stage follows the ``sources`` of the
latest offer and :meth:`Publisher.stop`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aiortc import RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.sdp import SessionDescription

from media import rtc
from media.assembler import FrameAssembler
from media.errors import InvalidDescription, NoFreeSlot
from media.forward import Feed
from media.keyframe import KeyframeRequester
from media.slots import Stage
from media.types import SOURCE_KIND, SOURCES, Kind, Source, VideoCodec

_PUBLISH_RCVBUF = 4 << 20  # bytes; the kernel caps it at net.core.rmem_max


def check_sources(offer_sdp: str, sources: Mapping[str, Source]) -> None:
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


def check_room(stage: Stage, feeds: Mapping[str, Feed], sources: Mapping[str, Source]) -> None:
    """Raise NoFreeSlot before negotiating if the new tracks cannot go on stage."""
    needed: dict[Kind, int] = {"video": 0, "audio": 0}
    for mid, source in sources.items():
        feed = feeds.get(mid)
        if feed is None or stage.slot_of(feed) is None:
            needed[SOURCE_KIND[source]] += 1
    for mid, feed in feeds.items():
        if mid not in sources and stage.slot_of(feed) is not None:
            needed[feed.kind] -= 1
    for kind, count in needed.items():
        if count > stage.free(kind):
            raise NoFreeSlot(f"no free {kind} slot on stage")


def enlarge_socket_buffer(pc: RTCPeerConnection) -> None:
    """Once connected: room in the socket for a keyframe burst while the loop fans out."""
    for transceiver in pc.getTransceivers()[:1]:  # bundled: one transport
        rtc.enlarge_receive_buffers(transceiver.receiver, _PUBLISH_RCVBUF)


@dataclass(eq=False)
class Publisher:
    """A presenter's publish connection and the feeds of the tracks it sends."""

    id: str
    pc: RTCPeerConnection
    video_codec: VideoCodec
    keyframe_interval: float
    """The least time between two keyframe requests to this publisher."""
    feeds: dict[str, Feed] = field(default_factory=dict)
    """One feed per negotiated m-line (mid), kept while the connection lives."""

    async def negotiate(self, offer_sdp: str, sources: Mapping[str, Source]) -> None:
        """Apply the offer and set the answer (``pc.localDescription``)."""
        pc = self.pc
        await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        for transceiver in pc.getTransceivers():
            self._prepare_receiver(transceiver, sources)
        await pc.setLocalDescription(await pc.createAnswer())

    def place(self, stage: Stage, sources: Mapping[str, Source]) -> None:
        """Put the listed sources on stage and take the others off."""
        for mid, feed in self.feeds.items():
            if mid in sources:
                feed.source = sources[mid]
                stage.place(feed)
            else:
                stage.remove(feed)

    def stop(self, stage: Stage, source: Source) -> bool:
        """Take ``source`` off stage; returns False if it was not on stage."""
        removed = False
        for feed in self.feeds.values():
            if feed.source == source and stage.remove(feed) is not None:
                removed = True
        return removed

    def leave(self, stage: Stage) -> None:
        """Take every track off stage and end its feed (the connection is closing)."""
        for feed in self.feeds.values():
            stage.remove(feed)
            feed.close()

    def _prepare_receiver(
        self, transceiver: RTCRtpTransceiver, sources: Mapping[str, Source]
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
        if mid in self.feeds:
            return
        receiver = transceiver.receiver
        assembler: FrameAssembler

        def send_pli() -> bool:
            if assembler.ssrc is None:
                return False
            rtc.send_pli(receiver, assembler.ssrc)
            return True

        requester = KeyframeRequester(send_pli, min_interval=self.keyframe_interval)
        feed = Feed(self.id, sources[mid], kind, requester)
        assembler = FrameAssembler(
            kind,
            mime.split("/")[1],
            feed.deliver,
            lambda retry: requester.request(retry=retry),
            meter=feed.meter if kind == "audio" else None,
        )
        rtc.replace_jitter_buffer(receiver, assembler)
        self.feeds[mid] = feed
