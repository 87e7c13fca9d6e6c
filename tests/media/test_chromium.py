"""Interop with real Chromium: a browser publisher (canvas VP8 + WebAudio Opus)
and a browser subscriber that joined before anything was on stage, so the track
reaches it through a pre-negotiated slot with no renegotiation."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

from media import Sfu

if TYPE_CHECKING:
    from conftest import Peers

playwright_api = pytest.importorskip("playwright.async_api")
CHROMIUM = (
    os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium executable")

GATHERED = """
() => new Promise((done) => {
  if (pc.iceGatheringState === "complete") return done();
  pc.addEventListener("icegatheringstatechange", () => {
    if (pc.iceGatheringState === "complete") done();
  });
})
"""

PUBLISH = """
async () => {
  const canvas = Object.assign(document.createElement("canvas"), {width: 320, height: 240});
  const ctx = canvas.getContext("2d");
  let n = 0;
  setInterval(() => {
    ctx.fillStyle = `hsl(${(n * 7) % 360}, 80%, 50%)`;
    ctx.fillRect(0, 0, 320, 240);
    ctx.fillStyle = "#fff";
    ctx.fillRect((n++ * 5) % 300, 100, 20, 20);
  }, 33);
  const audio = new AudioContext();
  const tone = audio.createOscillator();
  const out = audio.createMediaStreamDestination();
  tone.connect(out);
  tone.start();
  window.pc = new RTCPeerConnection();
  const video = pc.addTransceiver(canvas.captureStream(30).getVideoTracks()[0], {direction: "sendonly"});
  const mic = pc.addTransceiver(out.stream.getAudioTracks()[0], {direction: "sendonly"});
  await pc.setLocalDescription();
  return {video: video.mid, mic: mic.mid};
}
"""

SUBSCRIBE = """
async (offer) => {
  window.pc = new RTCPeerConnection();
  pc.ontrack = (event) => {
    const element = document.createElement(event.track.kind);
    element.srcObject = new MediaStream([event.track]);
    element.muted = true;
    element.autoplay = true;
    document.body.appendChild(element);
  };
  await pc.setRemoteDescription({type: "offer", sdp: offer});
  await pc.setLocalDescription();
}
"""

INBOUND = """
async () => {
  const found = {};
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp") found[r.mid] = {
      kind: r.kind, frames: r.framesDecoded || 0, packets: r.packetsReceived || 0,
      width: r.frameWidth || 0, keyframes: r.keyFramesDecoded || 0,
    };
  });
  return found;
}
"""


@pytest.fixture
def loopback_only() -> None:
    """Chromium gathers its own candidates; let aioice use every interface too."""


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        chromium = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                "--autoplay-policy=no-user-gesture-required",
                "--disable-features=WebRtcHideLocalIpsWithMdns",
                "--allow-loopback-in-peer-connection",
            ],
        )
        yield chromium
        await chromium.close()


async def test_chromium_publishes_and_subscribes(browser: Any, peers: Peers) -> None:
    sfu = Sfu(video_slots=2, audio_slots=2)
    viewer_page, publisher_page = await browser.new_page(), await browser.new_page()

    # The viewer subscribes to an empty stage.
    offer = await sfu.subscribe("chrome-viewer")
    await viewer_page.evaluate(SUBSCRIBE, offer.sdp)
    await viewer_page.evaluate(GATHERED)
    await sfu.answer("chrome-viewer", await viewer_page.evaluate("pc.localDescription.sdp"))

    # Then a browser presenter publishes camera and mic.
    mids = await publisher_page.evaluate(PUBLISH)
    await publisher_page.evaluate(GATHERED)
    answer = await sfu.publish(
        "chrome-presenter",
        await publisher_page.evaluate("pc.localDescription.sdp"),
        {mids["video"]: "camera", mids["mic"]: "mic"},
    )
    await publisher_page.evaluate("(sdp) => pc.setRemoteDescription({type: 'answer', sdp})", answer)
    stage = {t.source: t.mid for t in sfu.stage()}
    assert stage == {"camera": "0", "mic": "2"}

    # An aiortc viewer decodes what Chromium sent, through the SFU.
    aiortc_viewer = peers.viewer(sfu, "aiortc-viewer")
    await aiortc_viewer.subscribe()

    async def viewer_sees(video_frames: int, audio_packets: int) -> dict[str, Any]:
        deadline = time.monotonic() + 20
        while True:
            stats: dict[str, Any] = await viewer_page.evaluate(INBOUND)
            video, audio = stats.get("0", {}), stats.get("2", {})
            if video.get("frames", 0) > video_frames and audio.get("packets", 0) > audio_packets:
                return stats
            assert time.monotonic() < deadline, f"Chromium viewer stats: {stats}"
            await asyncio.sleep(0.2)

    stats = await viewer_sees(30, 50)
    print(f"Chromium viewer: {stats}")
    assert stats["0"]["width"] == 320
    await peers.wait_for(lambda: aiortc_viewer.count("0") > 30, 20, "aiortc viewer frames")
    assert aiortc_viewer.sizes["0"] == (320, 240)

    # Camera off, then back on through a Chromium re-offer (renegotiation).
    await sfu.stop_track("chrome-presenter", "camera")
    assert [t.source for t in sfu.stage()] == ["mic"]
    await asyncio.sleep(0.5)
    frozen = (await viewer_page.evaluate(INBOUND))["0"]["frames"]
    await publisher_page.evaluate("async () => { await pc.setLocalDescription(); }")
    await publisher_page.evaluate(GATHERED)
    answer = await sfu.publish(
        "chrome-presenter",
        await publisher_page.evaluate("pc.localDescription.sdp"),
        {mids["video"]: "camera", mids["mic"]: "mic"},
    )
    await publisher_page.evaluate("(sdp) => pc.setRemoteDescription({type: 'answer', sdp})", answer)
    stats = await viewer_sees(frozen + 30, 0)
    print(f"after camera off/on: {stats}")
    await sfu.close()
