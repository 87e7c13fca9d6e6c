"""Keyframe spotting in VP8/H.264 payloads, and the throttled keyframe requester."""

import asyncio

from media.keyframe import (
    KeyframeRequester,
    h264_carries_keyframe,
    h264_starts_keyframe,
    vp8_starts_keyframe,
)


def test_vp8_keyframe_start_needs_s_bit_pid0_and_key_tag() -> None:
    assert vp8_starts_keyframe(bytes([0x10, 0x00, 0x9D]))  # S=1, frame tag P=0
    assert not vp8_starts_keyframe(bytes([0x10, 0x01, 0x9D]))  # P=1: inter frame
    assert not vp8_starts_keyframe(bytes([0x00, 0x00]))  # continuation packet
    # Extended descriptor with a 15-bit PictureID (aiortc's and Chrome's form).
    assert vp8_starts_keyframe(bytes([0x90, 0x80, 0x81, 0x23, 0x00]))
    assert not vp8_starts_keyframe(bytes([0x90, 0x80, 0x81, 0x23, 0x01]))
    # 7-bit PictureID, TL0PICIDX and TID present.
    assert vp8_starts_keyframe(bytes([0x90, 0xE0, 0x05, 0x07, 0x40, 0x00]))
    assert not vp8_starts_keyframe(bytes([0x90, 0x80]))  # truncated


def test_h264_keyframe_forms() -> None:
    sps, pps, idr, non_idr = 0x67, 0x68, 0x65, 0x41
    stap = bytes([0x78, 0, 2, sps, 0, 0, 2, pps, 0])
    assert h264_starts_keyframe(stap) and h264_carries_keyframe(stap)
    assert h264_starts_keyframe(bytes([idr, 0x88]))
    assert not h264_starts_keyframe(bytes([non_idr, 0x9A]))
    fu_start = bytes([0x7C, 0x85, 0])  # FU-A, S bit, type 5
    fu_middle = bytes([0x7C, 0x05, 0])
    assert h264_starts_keyframe(fu_start) and h264_carries_keyframe(fu_start)
    assert not h264_starts_keyframe(fu_middle)


async def test_requester_throttles_and_defers() -> None:
    now = [0.0]
    sent: list[float] = []

    def send() -> bool:
        sent.append(now[0])
        return True

    requester = KeyframeRequester(send, min_interval=0.05, retry_interval=10, clock=lambda: now[0])
    requester.request()
    assert sent == [0.0]
    now[0] = 0.01
    requester.request()  # too soon: deferred to the end of the interval
    requester.request()
    assert len(sent) == 1
    await asyncio.sleep(0.08)
    assert len(sent) == 2
    now[0] = 0.02
    requester.request()
    requester.keyframe_arrived()  # a keyframe answered it: nothing more sent
    await asyncio.sleep(0.08)
    assert len(sent) == 2
    requester.request(retry=True)  # retries wait for retry_interval
    assert len(sent) == 2
    requester.close()
