"""Frame assembly from RTP packets: order, holes, retransmissions, resync."""

from aiortc.rtp import RtpPacket

from media.assembler import EncodedFrame, FrameAssembler

KEY = bytes([0x10, 0x00])  # VP8: first packet of a keyframe
INTER = bytes([0x10, 0x01])  # VP8: first packet of an inter frame
MORE = bytes([0x00, 0xAA])  # VP8: continuation packet


def packet(seq: int, ts: int, payload: bytes, marker: bool = False) -> RtpPacket:
    return RtpPacket(
        payload_type=97,
        sequence_number=seq & 0xFFFF,
        timestamp=ts,
        ssrc=1234,
        payload=payload,
        marker=int(marker),
    )


class Recorder:
    def __init__(self, kind: str = "video", codec: str = "VP8") -> None:
        self.frames: list[EncodedFrame] = []
        self.lost: list[bool] = []
        self.now = 0.0
        self.assembler = FrameAssembler(
            kind, codec, self.frames.append, self.lost.append, clock=lambda: self.now
        )

    def feed(self, *packets: RtpPacket) -> None:
        for p in packets:
            assert self.assembler.add(p) == (False, None)  # never a frame to decode

    def timestamps(self) -> list[int]:
        return [f.timestamp for f in self.frames]


def frame(seq: int, ts: int, first: bytes, count: int = 2) -> list[RtpPacket]:
    payloads = [first] + [MORE] * (count - 1)
    return [packet(seq + i, ts, p, i == count - 1) for i, p in enumerate(payloads)]


def test_releases_each_frame_on_its_marker() -> None:
    r = Recorder()
    first, second = frame(10, 1000, KEY), frame(12, 4000, INTER)
    r.feed(first[0])
    assert r.frames == []
    r.feed(first[1])
    assert r.timestamps() == [1000] and r.frames[0].keyframe
    assert r.frames[0].payloads == (KEY, MORE)
    r.feed(*second)
    assert r.timestamps() == [1000, 4000] and not r.frames[1].keyframe


def test_waits_for_a_keyframe_before_the_first_frame() -> None:
    r = Recorder()
    r.feed(*frame(1, 1000, INTER))
    assert r.frames == [] and r.lost == [True, True]
    r.feed(*frame(3, 4000, KEY))
    assert r.timestamps() == [4000]


def test_reordered_and_retransmitted_packets_keep_frames_in_order() -> None:
    r = Recorder()
    a, b, c = frame(100, 1, KEY, 3), frame(103, 2, INTER, 3), frame(106, 3, INTER)
    r.feed(a[0], a[2], *b, *c)  # a[1] missing: nothing may pass it
    assert r.frames == []
    r.feed(a[1])  # the NACKed packet comes back
    assert r.timestamps() == [1, 2, 3]
    r.feed(a[1])  # duplicate of a released packet
    assert r.timestamps() == [1, 2, 3]


def test_a_hole_that_stays_skips_to_the_next_keyframe() -> None:
    r = Recorder()
    r.feed(*frame(0, 1, KEY))
    lost = frame(2, 2, INTER)
    r.feed(lost[0])  # lost[1] never arrives
    r.feed(*frame(4, 3, INTER))
    r.now = 1.0  # far past max_gap_wait
    r.feed(*frame(6, 4, KEY))
    assert r.timestamps() == [1, 4]
    assert r.lost == [False]
    r.feed(*frame(8, 5, INTER))
    assert r.timestamps() == [1, 4, 5]


def test_hole_without_a_later_keyframe_waits_for_one() -> None:
    r = Recorder()
    r.feed(*frame(0, 1, KEY))
    r.feed(frame(2, 2, INTER)[0])
    r.feed(*frame(4, 3, INTER))
    r.now = 1.0
    r.feed(*frame(6, 4, INTER))
    assert r.timestamps() == [1] and r.lost[0] is False
    r.feed(*frame(8, 5, INTER))
    assert r.timestamps() == [1]
    r.feed(*frame(10, 6, KEY))
    assert r.timestamps() == [1, 6]


def test_sequence_numbers_wrap() -> None:
    r = Recorder()
    r.feed(*frame(0xFFFE, 1, KEY, 3), *frame(1, 2, INTER))
    assert r.timestamps() == [1, 2]


def test_padding_between_frames_is_skipped() -> None:
    r = Recorder()
    r.feed(*frame(0, 1, KEY), packet(2, 1, b""), packet(3, 1, b""), *frame(4, 2, INTER))
    assert r.timestamps() == [1, 2]


def test_audio_passes_each_packet_at_once_and_drops_late_ones() -> None:
    r = Recorder("audio", "opus")
    r.feed(packet(5, 960, b"a", True), packet(7, 2880, b"c", True), packet(6, 1920, b"b"))
    assert r.timestamps() == [960, 2880]
    assert all(f.keyframe for f in r.frames)


def test_h264_frames_are_flagged_by_idr() -> None:
    r = Recorder(codec="H264")
    stap = bytes([0x78, 0, 2, 0x67, 0, 0, 2, 0x68, 0])
    r.feed(packet(0, 1, stap), packet(1, 1, bytes([0x65, 0x88]), True))
    r.feed(packet(2, 2, bytes([0x41, 0x9A]), True))
    assert r.timestamps() == [1, 2]
    assert [f.keyframe for f in r.frames] == [True, False]
