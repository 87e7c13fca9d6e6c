"""What a connected subscriber keeps: no task per slot, one shared DTLS certificate,
its descriptions as text that still reads the same; and NACKs still answered."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiortc import RTCSessionDescription

from media import Sfu

if TYPE_CHECKING:
    from conftest import Peers

VIDEO_MID = "0"


async def test_connected_subscribers_keep_little(sfu: Sfu, peers: Peers) -> None:
    publisher = peers.publisher(sfu, "alice")
    await publisher.publish()
    await publisher.connected()
    first = peers.viewer(sfu, "first")
    await first.subscribe()
    await first.connected()
    await peers.wait_for(lambda: first.count(VIDEO_MID) > 0, 10, "first viewer video")

    offer = await sfu.subscribe("second")
    second = peers.viewer(sfu, "second")
    await second.pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
    await second.pc.setLocalDescription(await second.pc.createAnswer())
    answer = second.pc.localDescription.sdp
    await sfu.answer("second", answer)
    await second.connected()
    await peers.wait_for(lambda: second.count(VIDEO_MID) > 0, 10, "second viewer video")
    await asyncio.sleep(0.5)

    server = {s.id: s.pc for s in sfu._subscribers.values()}
    one, two = server["first"], server["second"]
    certificates = "_RTCPeerConnection__certificates"
    assert getattr(one, certificates)[0] is getattr(two, certificates)[0]
    assert two.localDescription.sdp == offer.sdp  # kept as text, reads the same
    assert two.localDescription.type == "offer"
    assert two.remoteDescription.type == "answer"
    assert "a=fingerprint:" in two.remoteDescription.sdp
    # No task stays alive per slot (before: the senders' RTP and RTCP loops, asleep).
    senders = [t.sender for t in two.getTransceivers()]
    loops = [getattr(s, f"_RTCRtpSender__{name}_task") for s in senders for name in ("rtp", "rtcp")]
    assert len(loops) == 2 * len(senders) and all(task.done() for task in loops)
    assert second.count(VIDEO_MID) > 0
