"""Subscribing peers: a viewer's connection, one sink per stage slot, following the stage.

The SFU offers once, with every slot of the stage as a sendonly m-line, and
never renegotiates: stage changes only point each slot's
:class:`~media.forward.SlotSink` at another feed. So once every slot's sender
has started, the connection keeps its descriptions as text only
(``rtc.compact_descriptions``). Each slot's sender is taken
over by an :class:`~media.outbound.RtpWriter` (no encoder) and the
connection's sender reports are one :class:`~media.outbound.SenderReports`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from aiortc import RTCPeerConnection, RTCRtpSender
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

from media import rtc
from media.forward import SlotSink
from media.outbound import RtpWriter, SenderReports
from media.slots import Stage
from media.types import Kind, Slot, VideoCodec


async def offer_slots(
    pc: RTCPeerConnection, layout: tuple[Slot, ...], video_codec: VideoCodec, backlog_limit: int
) -> tuple[list[SlotSink], list[RtpWriter]]:
    """Add a sendonly m-line per slot of ``layout`` and set the offer; returns
    each slot's sink and writer."""
    sinks: list[SlotSink] = []
    writers: list[RtpWriter] = []
    waiting = [len(layout)]

    def started(sink: SlotSink) -> None:
        sink.writer_ready()
        waiting[0] -= 1
        if waiting[0] == 0:  # every sender started: the parsed SDP is not read again
            rtc.compact_descriptions(pc)

    for slot in layout:
        transceiver = pc.addTransceiver(slot.kind, direction="sendonly")
        transceiver.setCodecPreferences(_preferences(slot.kind, video_codec))
        rtc.release_idle_receiver(transceiver.receiver)
        writer = RtpWriter(transceiver.sender)
        writers.append(writer)
        sink = SlotSink(slot.kind, writer, backlog_limit)
        writer.on_ready = partial(started, sink)
        rtc.on_keyframe_request(transceiver.sender, sink.request_keyframe)
        sinks.append(sink)
    await pc.setLocalDescription(await pc.createOffer())
    return sinks, writers


def _preferences(kind: Kind, video_codec: VideoCodec) -> list[RTCRtpCodecCapability]:
    """The one codec of ``kind`` a subscribe slot offers; no RTX (see
    ``rtc.restrict_codecs``: aiortc clients would drop RTX packets)."""
    wanted = rtc.codec_mime(kind, video_codec).lower()
    return [c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType.lower() == wanted]


@dataclass(eq=False)
class Subscriber:
    """A viewer's subscribe connection and the sink of each of its slots."""

    id: str
    pc: RTCPeerConnection
    sinks: list[SlotSink]
    reports: SenderReports
    skip_publisher: str | None
    live: bool = False
    """Connected: its slots follow the stage."""

    @classmethod
    def start(
        cls,
        subscriber_id: str,
        pc: RTCPeerConnection,
        layout: tuple[Slot, ...],
        slots: tuple[list[SlotSink], list[RtpWriter]],
        skip_publisher: str | None,
    ) -> Subscriber:
        """The subscriber of a connection :func:`offer_slots` set up; starts its reports."""
        sinks, writers = slots
        mids = [t.mid for t in pc.getTransceivers()]
        assert mids == [slot.mid for slot in layout], mids
        reports = SenderReports(writers)
        reports.start()
        return cls(subscriber_id, pc, sinks, reports, skip_publisher)

    def follow(self, stage: Stage) -> None:
        """Point every slot at the feed the stage holds there (none for its own tracks)."""
        feeds = dict(stage.feeds())
        for slot, sink in enumerate(self.sinks):
            feed = feeds.get(slot)
            if feed is not None and feed.publisher_id == self.skip_publisher:
                feed = None
            sink.switch(feed)

    async def close(self) -> None:
        """Stop its slots and sender reports; closing the connection is the owner's."""
        for sink in self.sinks:
            sink.close()
        await self.reports.close()
