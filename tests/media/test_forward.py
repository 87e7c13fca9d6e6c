"""Slot sinks: keyframe hold, bounded backlog, timestamp continuity across feeds."""

from media.assembler import EncodedFrame
from media.forward import Feed, SlotSink
from media.keyframe import KeyframeRequester


class MemoryWriter:
    """Collects what a sink writes; ``backlog`` plays the socket's send buffer."""

    def __init__(self) -> None:
        self.ready = True
        self.backlog_bytes = 0
        self.frames: list[tuple[tuple[bytes, ...], int]] = []

    def write(self, payloads: tuple[bytes, ...], timestamp: int) -> None:
        self.frames.append((payloads, timestamp))

    def backlog(self) -> int:
        return self.backlog_bytes

    def timestamps(self) -> list[int]:
        return [ts for _, ts in self.frames]


def make_feed(publisher: str = "alice", kind: str = "video") -> tuple[Feed, list[int]]:
    asked: list[int] = []

    def send() -> bool:
        asked.append(1)
        return True

    requester = KeyframeRequester(send, min_interval=0, retry_interval=0)
    return Feed(publisher, "camera", kind, requester), asked  # type: ignore[arg-type]


def make_sink(kind: str = "video", limit: int = 1000) -> tuple[SlotSink, MemoryWriter]:
    writer = MemoryWriter()
    return SlotSink(kind, writer, limit), writer  # type: ignore[arg-type]


def frame(ts: int, key: bool = False, at: float = 0.0) -> EncodedFrame:
    return EncodedFrame((b"p%d" % ts,), ts, key, at)


async def test_video_slot_holds_until_keyframe_and_asks_for_one() -> None:
    feed, asked = make_feed()
    sink, writer = make_sink()
    sink.switch(feed)
    assert asked == [1]
    feed.deliver(frame(1))  # the subscriber could not decode it: held back, asked again
    assert len(asked) == 2
    feed.deliver(frame(2, key=True))
    feed.deliver(frame(3))
    assert [p for p, _ in writer.frames] == [(b"p2",), (b"p3",)]
    stamps = writer.timestamps()
    assert (stamps[1] - stamps[0]) & 0xFFFFFFFF == 1  # one timeline, randomly based


async def test_nothing_is_written_before_the_connection_is_up() -> None:
    feed, asked = make_feed()
    sink, writer = make_sink()
    writer.ready = False
    sink.switch(feed)
    feed.deliver(frame(1, key=True))
    assert writer.frames == [] and asked == []
    writer.ready = True
    sink.writer_ready()  # what RtpWriter calls once DTLS is up
    assert asked == [1]
    feed.deliver(frame(2))
    feed.deliver(frame(3, key=True))
    assert [p for p, _ in writer.frames] == [(b"p3",)]


async def test_congested_subscriber_drops_to_next_keyframe_and_others_lose_nothing() -> None:
    feed, asked = make_feed()
    (slow, slow_out), (fast, fast_out) = make_sink(limit=100), make_sink(limit=100)
    slow.switch(feed)
    fast.switch(feed)
    feed.deliver(frame(0, key=True))
    slow_out.backlog_bytes = 5000  # its socket buffer filled up
    for ts in range(1, 4):
        feed.deliver(frame(ts))
    slow_out.backlog_bytes = 0  # drained, but the chain of references is broken
    feed.deliver(frame(4))
    feed.deliver(frame(5, key=True))
    feed.deliver(frame(6))
    assert [p for p, _ in slow_out.frames] == [(b"p0",), (b"p5",), (b"p6",)]
    assert slow.dropped == 4 and len(asked) >= 2
    assert len(fast_out.frames) == 7 and fast.dropped == 0


async def test_congested_audio_drops_frames_only_while_congested() -> None:
    feed, _ = make_feed(kind="audio")
    sink, writer = make_sink("audio", limit=100)
    sink.switch(feed)
    feed.deliver(EncodedFrame((b"a",), 960, True, 0.0))
    writer.backlog_bytes = 500
    feed.deliver(EncodedFrame((b"b",), 1920, True, 0.0))
    writer.backlog_bytes = 0
    feed.deliver(EncodedFrame((b"c",), 2880, True, 0.0))
    assert [p for p, _ in writer.frames] == [(b"a",), (b"c",)] and sink.dropped == 1


async def test_switching_feeds_keeps_the_timeline_continuous() -> None:
    a, _ = make_feed("alice")
    b, _ = make_feed("bob")
    sink, writer = make_sink()
    sink.switch(a)
    a.deliver(frame(90_000, key=True, at=10.0))
    sink.switch(b)
    assert a.sinks == () and b.sinks == (sink,)
    b.deliver(frame(5, at=10.4))  # not decodable on its own: held back
    b.deliver(frame(7, key=True, at=10.5))  # bob's clock starts elsewhere
    first, second = writer.timestamps()
    assert (second - first) & 0xFFFFFFFF == 45_000  # half a second later, same timeline
    sink.close()
    assert b.sinks == ()


async def test_a_sink_counts_packets_bytes_and_forwarding_delay() -> None:
    """What /metrics reads: packets and payload bytes written, and each frame's delay from
    its arrival to its write, in `DELAY_BUCKETS`; held frames count for none of them."""
    import time

    from media.types import DELAY_BUCKETS

    feed, _ = make_feed()
    sink, _ = make_sink()
    sink.switch(feed)
    feed.deliver(frame(1, at=time.monotonic()))  # held: no keyframe yet
    assert (sink.packets, sink.octets, sum(sink.delays)) == (0, 0, 0)
    feed.deliver(EncodedFrame((b"abc", b"de"), 2, True, time.monotonic()))
    feed.deliver(EncodedFrame((b"fgh",), 3, False, time.monotonic() - 0.2))  # arrived late
    assert (sink.packets, sink.octets) == (3, 8)
    assert sum(sink.delays) == 2
    slow = next(i for i, bound in enumerate(DELAY_BUCKETS) if bound >= 0.2)
    assert sum(sink.delays[slow:]) >= 1  # the late frame: in its bucket or a later one
    assert sink.delay_sum >= 0.2
