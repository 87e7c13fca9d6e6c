"""media.wire: a frame's packets, protected in place and sent in segmented batches,
arrive as the same datagrams the one-packet-at-a-time path sends."""

import asyncio
import os
import socket
from typing import Any

import pytest
from pylibsrtp import Policy, Session

from media import wire

KEY = bytes(range(30))
SSRC = 0x1234ABCD


def session(direction: int) -> Session:
    policy = Policy(key=KEY, ssrc_type=direction)
    policy.allow_repeat_tx = True
    return Session(policy=policy)


class Collect(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.datagrams: list[bytes] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.datagrams.append(data)


async def send_and_receive(
    frames: list[tuple[bytes, ...]], mode: str, seq: int = 65530
) -> list[bytes]:
    """Send ``frames`` through a real loopback socket pair; returns what arrived."""
    loop = asyncio.get_running_loop()
    receiver, collect = await loop.create_datagram_endpoint(Collect, local_addr=("127.0.0.1", 0))
    receiver.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sender, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    route = wire.Route(
        session(Policy.SSRC_ANY_OUTBOUND), sender, receiver.get_extra_info("sockname")
    )
    if mode == "slow":
        route.ctx = None  # pylibsrtp's public API and asyncio's sendto
    was = wire.gso_enabled()
    wire.set_gso(mode == "gso")
    expected = sum(len(f) for f in frames)
    try:
        assert (route.sock is not None and route.ctx is not None) or mode == "slow"
        ext = b"\xbe\xde\x00\x01\x10\xab\x00\x00"  # one-byte extension block, padded
        for ts, payloads in enumerate(frames):
            wire.send_frame(route, 0x90, 96, seq, 3000 * ts, SSRC, ext, payloads)
            seq = (seq + len(payloads)) & 0xFFFF
        for _ in range(200):
            if len(collect.datagrams) >= expected:
                break
            await asyncio.sleep(0.01)
    finally:
        wire.set_gso(was)
        sender.close()
        receiver.close()
    return collect.datagrams


def payloads(*sizes: int) -> tuple[bytes, ...]:
    return tuple(os.urandom(n) for n in sizes)


FRAMES = [
    payloads(1200, 1200, 1200, 1200, 333),  # one segmented send
    payloads(1000, 1001, 1001),  # split evenly, larger last: two sends
    payloads(160),  # audio-sized
    payloads(900, 1200, 1200),  # a shorter first packet
    payloads(*[1200] * 130),  # a keyframe: over 64 segments and the buffer's size
]


@pytest.mark.parametrize("mode", ["gso", "per-packet"])
async def test_datagrams_are_the_same_as_one_sendto_per_packet(mode: str) -> None:
    reference = await send_and_receive(FRAMES, "slow")
    got = await send_and_receive(FRAMES, mode)
    assert len(reference) == sum(len(f) for f in FRAMES)
    assert sorted(got) == sorted(reference)  # byte for byte, nothing lost
    if mode == "gso":
        assert wire.gso_enabled()  # the kernel took it: no silent fallback


async def test_packets_decrypt_to_the_frame_in_order_with_one_marker() -> None:
    got = await send_and_receive(FRAMES, "gso")
    rx = session(Policy.SSRC_ANY_INBOUND)
    plain = [rx.unprotect(d) for d in got]
    seqs = [int.from_bytes(p[2:4], "big") for p in plain]
    assert seqs == [(65530 + i) & 0xFFFF for i in range(len(plain))]  # wraps, in order
    flat = [p for f in FRAMES for p in f]
    assert [p[12 + 8 :] for p in plain] == flat
    markers = [bool(p[1] & 0x80) for p in plain]
    ends = []
    for f in FRAMES:
        ends += [False] * (len(f) - 1) + [True]
    assert markers == ends
    assert {p[1] & 0x7F for p in plain} == {96}
    assert {int.from_bytes(p[8:12], "big") for p in plain} == {SSRC}
