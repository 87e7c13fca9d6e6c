"""The SFU with real aiortc peers over loopback UDP: fan-out, late join, stage
changes, no transcoding, H.264, clean-up. No aiortc part is mocked; timings
are printed, never asserted tightly."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
import pytest

from media import InvalidDescription, NoFreeSlot, Sfu, StageTrack, UnknownPeer, rtc
from media.assembler import FrameAssembler

if TYPE_CHECKING:
    from conftest import Peers

VIDEO_MID, AUDIO_MID = "0", "2"  # first video and first audio slot with 2 + 2 slots


async def start_publisher(peers: Peers, sfu: Sfu, name: str = "alice") -> Any:
    publisher = peers.publisher(sfu, name)
    await publisher.publish()
    await publisher.connected()
    return publisher


async def start_viewer(peers: Peers, sfu: Sfu, name: str, **kw: Any) -> Any:
    viewer = peers.viewer(sfu, name)
    await viewer.subscribe(**kw)
    await viewer.connected()
    return viewer


async def test_three_subscribers_receive_the_frames_sent(sfu: Sfu, peers: Peers) -> None:
    publisher = await start_publisher(peers, sfu)
    viewers = [await start_viewer(peers, sfu, f"viewer{i}") for i in range(3)]
    for v in viewers:
        await peers.wait_for(lambda v=v: v.count(VIDEO_MID) > 0, 10, "first video frame")
    sent_video, sent_audio = publisher.camera.sent, publisher.mic.sent
    got_video = [v.count(VIDEO_MID) for v in viewers]
    got_audio = [v.count(AUDIO_MID) for v in viewers]
    await asyncio.sleep(5)
    sent_video = publisher.camera.sent - sent_video
    sent_audio = publisher.mic.sent - sent_audio
    for v, video0, audio0 in zip(viewers, got_video, got_audio, strict=True):
        video_ratio = (v.count(VIDEO_MID) - video0) / sent_video
        audio_ratio = (v.count(AUDIO_MID) - audio0) / sent_audio
        print(f"{v.id}: video {video_ratio:.1%} of {sent_video}, audio {audio_ratio:.1%}")
        assert video_ratio >= 0.9
        assert audio_ratio >= 0.9
        assert v.sizes[VIDEO_MID] == (320, 240)  # decodable, full pictures
    stats = sfu.stats()
    assert stats.subscribers == 3 and stats.frames_forwarded > 0


async def test_late_subscriber_sees_video_quickly(sfu: Sfu, peers: Peers) -> None:
    await start_publisher(peers, sfu)
    early = await start_viewer(peers, sfu, "early")
    await peers.wait_for(lambda: early.count(VIDEO_MID) > 0, 10, "early viewer video")
    await asyncio.sleep(2)  # the stream is well past its first keyframe
    late = peers.viewer(sfu, "late")
    await late.subscribe()
    waited = await peers.wait_for(lambda: late.count(VIDEO_MID) > 0, 5, "late viewer video")
    total = late.first_frame_at[VIDEO_MID] - late.subscribed_at
    print(f"late join: first video frame {total:.3f}s after subscribe ({waited:.3f}s polled)")
    assert sfu.stats().keyframe_requests >= 1


async def test_stop_and_start_of_a_track_reach_subscribers(peers: Peers) -> None:
    changes: list[tuple[StageTrack, ...]] = []
    sfu = Sfu(video_slots=2, audio_slots=2, on_stage_change=changes.append)
    publisher = await start_publisher(peers, sfu)
    viewer = await start_viewer(peers, sfu, "bob")
    own = await start_viewer(peers, sfu, "alice-view", skip_publisher="alice")
    await peers.wait_for(lambda: viewer.count(VIDEO_MID) > 0, 10, "video")
    assert {(t.source, t.mid) for t in sfu.stage()} == {("camera", "0"), ("mic", "2")}

    assert await sfu.stop_track("alice", "camera")
    assert [(t.source, t.mid) for t in changes[-1]] == [("mic", "2")]
    await asyncio.sleep(0.3)
    stopped_at = viewer.count(VIDEO_MID)
    audio_at = viewer.count(AUDIO_MID)
    await asyncio.sleep(1)
    assert viewer.count(VIDEO_MID) == stopped_at  # no more video
    assert viewer.count(AUDIO_MID) > audio_at  # the mic goes on

    await publisher.publish()  # renegotiate: camera back on stage
    assert {t.source for t in changes[-1]} == {"camera", "mic"}
    await peers.wait_for(lambda: viewer.count(VIDEO_MID) > stopped_at + 10, 10, "video back")
    assert own.count(VIDEO_MID) == 0 and own.count(AUDIO_MID) == 0  # skip_publisher

    await sfu.unpublish("alice")
    assert changes[-1] == () and sfu.stage() == ()
    await sfu.close()


async def test_server_never_decodes_nor_encodes(
    sfu: Sfu, peers: Peers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spy on aiortc's codec factories: the clients use them, the server must not."""
    encoder_callers: list[object] = []
    decoder_queues: list[object] = []
    real_encoder, real_decoder = aiortc.rtcrtpsender.get_encoder, aiortc.rtcrtpreceiver.get_decoder

    def spy_encoder(codec: Any) -> Any:
        encoder_callers.append(sys._getframe(1).f_locals.get("self"))  # the RTCRtpSender
        return real_encoder(codec)

    def spy_decoder(codec: Any) -> Any:
        decoder_queues.append(sys._getframe(1).f_locals.get("input_q"))  # decoder_worker's
        return real_decoder(codec)

    monkeypatch.setattr(aiortc.rtcrtpsender, "get_encoder", spy_encoder)
    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", spy_decoder)

    await start_publisher(peers, sfu)
    viewers = [await start_viewer(peers, sfu, f"v{i}") for i in range(2)]
    for v in viewers:
        await peers.wait_for(lambda v=v: v.count(VIDEO_MID) > 30, 10, "video frames")

    server = [t for pc in sfu._peers for t in pc.getTransceivers()]
    server_senders = {id(t.sender) for t in server}
    server_queues = {id(rtc_queue) for rtc_queue in (rtc.decoder_queue(t.receiver) for t in server)}
    # The clients did encode (VP8 + Opus) and decode: the spies work.
    assert len(encoder_callers) >= 2 and len(decoder_queues) >= 2
    assert not [c for c in encoder_callers if id(c) in server_senders]
    assert not [q for q in decoder_queues if id(q) in server_queues]
    receiving = [t for t in server if t.currentDirection == "recvonly"]
    sending = [t for t in server if t.currentDirection == "sendonly"]
    assert len(receiving) == 2 and len(sending) == 8
    for t in receiving:
        assert isinstance(rtc.jitter_buffer(t.receiver), FrameAssembler)
        assert rtc.decoder_queue(t.receiver).qsize() == 0
    for t in sending:
        assert rtc.sender_encoder(t.sender) is None  # aiortc's RTP loop never ran


async def test_h264_is_forwarded(peers: Peers) -> None:
    sfu = Sfu(video_slots=2, audio_slots=2, video_codec="H264")
    publisher = await start_publisher(peers, sfu)
    viewer = await start_viewer(peers, sfu, "bob")
    await peers.wait_for(lambda: viewer.count(VIDEO_MID) > 30, 15, "H.264 frames")
    assert viewer.sizes[VIDEO_MID] == (320, 240)
    # The client really encoded H.264 (libx264), and the viewer decoded it.
    video = next(t for t in publisher.pc.getTransceivers() if t.kind == "video")
    assert type(rtc.sender_encoder(video.sender)).__name__ == "H264Encoder"
    await sfu.close()


async def test_subscribe_unsubscribe_cycles_leak_nothing(sfu: Sfu, peers: Peers) -> None:
    await start_publisher(peers, sfu)
    warm = await start_viewer(peers, sfu, "warm")  # first-connection costs out of the baseline
    await peers.wait_for(lambda: warm.count(VIDEO_MID) > 0, 10, "video")
    await warm.close()
    await sfu.unsubscribe("warm")
    await asyncio.sleep(0.5)
    tasks, threads = len(asyncio.all_tasks()), own_threads()

    async def cycle(i: int) -> None:
        viewer = peers.viewer(sfu, f"cycle{i}")
        await viewer.subscribe()
        await viewer.connected(limit=15)
        await peers.wait_for(lambda: viewer.count(VIDEO_MID) > 0, 15, "video")
        await sfu.unsubscribe(viewer.id)
        await viewer.close()

    started = time.monotonic()
    cycles, batch = 100, 10
    for first in range(0, cycles, batch):
        await asyncio.gather(*(cycle(i) for i in range(first, first + batch)))
    print(f"{cycles} subscribe/unsubscribe cycles in {time.monotonic() - started:.1f}s")

    await peers.wait_for(lambda: len(asyncio.all_tasks()) <= tasks, 10, "tasks to settle")
    assert own_threads() <= threads
    stats = sfu.stats()
    assert stats.subscribers == 0 and stats.peers == 1  # the publisher only
    feeds = [f for p in sfu._publishers.values() for f in p.feeds.values()]
    assert feeds and all(f.sinks == () for f in feeds)


def own_threads() -> int:
    """Threads other than executor workers, which stay pooled once started."""
    return sum(
        1 for t in threading.enumerate() if not t.name.startswith(("ThreadPoolExecutor", "asyncio"))
    )


async def test_dropped_peers_are_cleaned_up(peers: Peers) -> None:
    closed: list[tuple[str, str]] = []
    sfu = Sfu(
        video_slots=2,
        audio_slots=2,
        connect_timeout=1.0,
        on_peer_closed=lambda peer, role: closed.append((peer, role)),
    )
    publisher = await start_publisher(peers, sfu)
    viewer = await start_viewer(peers, sfu, "bob")
    await viewer.close()  # the browser tab goes away without a word to signaling
    await peers.wait_for(lambda: ("bob", "subscriber") in closed, 10, "subscriber dropped")
    peers.viewer(sfu, "silent")
    await sfu.subscribe("silent")  # never answers
    await peers.wait_for(lambda: ("silent", "subscriber") in closed, 10, "connect timeout")
    await publisher.close()
    await peers.wait_for(lambda: ("alice", "publisher") in closed, 10, "publisher dropped")
    assert sfu.stage() == () and sfu.stats().peers == 0
    await sfu.close()


async def test_refusals(sfu: Sfu, peers: Peers) -> None:
    publisher = peers.publisher(sfu, "alice")
    await publisher.pc.setLocalDescription(await publisher.pc.createOffer())
    offer = publisher.pc.localDescription.sdp
    video_mid, audio_mid = (t.mid for t in publisher.pc.getTransceivers())
    with pytest.raises(InvalidDescription):
        await sfu.publish("alice", "not sdp", {video_mid: "camera"})
    with pytest.raises(InvalidDescription):
        await sfu.publish("alice", offer, {audio_mid: "camera"})  # wrong kind
    with pytest.raises(InvalidDescription):
        await sfu.publish("alice", offer, {"9": "camera"})  # no such m-line
    with pytest.raises(UnknownPeer):
        await sfu.answer("nobody", offer)
    with pytest.raises(UnknownPeer):
        await sfu.stop_track("nobody", "camera")
    assert sfu.stats().peers == 0  # refused before any connection was made

    others = [peers.publisher(sfu, name, audio=False) for name in ("bob", "carol", "dave")]
    for other in others[:2]:
        await other.publish()
    with pytest.raises(NoFreeSlot):
        await others[2].publish()  # two video slots, both taken
    assert [t.publisher_id for t in sfu.stage()] == ["bob", "carol"]
    assert sfu.stats().peers == 2  # the refused publish left no connection behind


async def test_lost_packet_is_retransmitted_and_sender_reports_arrive(
    sfu: Sfu, peers: Peers
) -> None:
    await start_publisher(peers, sfu)
    viewer = peers.viewer(sfu, "bob")
    await viewer.subscribe()
    await viewer.connected()
    await peers.wait_for(lambda: viewer.count(VIDEO_MID) > 10, 10, "video")

    # Lose one video packet on the wire (before SRTP): the viewer's aiortc
    # receiver NACKs it and the SFU resends it from its history.
    ice = viewer.pc.getTransceivers()[0].receiver.transport.transport._connection
    arrive = ice.data_received
    video_pt = next(t for t in viewer.pc.getTransceivers() if t.kind == "video")._codecs[0]
    lost: list[int] = []

    def lossy(data: bytes, component: int) -> None:
        is_rtp = 127 < data[0] < 192 and not 191 < data[1] < 224
        if not lost and is_rtp and data[1] & 0x7F == video_pt.payloadType:
            lost.append(int.from_bytes(data[2:4], "big"))
            return
        arrive(data, component)

    ice.data_received = lossy
    before = viewer.count(VIDEO_MID)
    took = await peers.wait_for(lambda: viewer.count(VIDEO_MID) > before + 60, 10, "frames")
    print(f"60 frames after a lost packet in {took:.2f}s")
    writers = [s._writer for s in sfu._subscribers["bob"].sinks]
    assert lost and sum(w.retransmitted for w in writers) >= 1  # resent in the stream
    assert sfu.stats().keyframe_requests <= 2  # repaired, not restarted from a keyframe

    stats = await viewer.pc.getTransceivers()[0].receiver.getStats()
    reports = [s for s in stats.values() if s.type == "remote-outbound-rtp"]
    assert reports and reports[0].packetsSent > 0  # our compound sender reports
