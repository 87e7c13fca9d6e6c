"""Slot tracks: bounded queues, keyframe hold, timestamp continuity across feeds."""

import asyncio

from media.assembler import EncodedFrame
from media.forward import Feed, SlotTrack
from media.keyframe import KeyframeRequester


def make_feed(publisher: str = "alice", kind: str = "video") -> tuple[Feed, list[int]]:
    asked: list[int] = []

    def send() -> bool:
        asked.append(1)
        return True

    return Feed(publisher, "camera", kind, KeyframeRequester(send, min_interval=0)), asked  # type: ignore[arg-type]


def vframe(ts: int, key: bool = False, at: float = 0.0) -> EncodedFrame:
    return EncodedFrame((b"p%d" % ts,), ts, key, at)


async def test_video_slot_holds_until_keyframe_and_asks_for_one() -> None:
    feed, asked = make_feed()
    track = SlotTrack("video", limit=10)
    track.switch(feed)
    assert asked == [1]
    feed.deliver(vframe(1))
    feed.deliver(vframe(2, key=True))
    feed.deliver(vframe(3))
    assert await track.recv() == ((b"p2",), 2)
    assert await track.recv() == ((b"p3",), 3)


async def test_overflow_drops_until_next_keyframe_without_touching_other_slots() -> None:
    feed, _ = make_feed()
    slow, fast = SlotTrack("video", limit=3), SlotTrack("video", limit=100)
    slow.switch(feed)
    fast.switch(feed)
    feed.deliver(vframe(0, key=True))
    for ts in range(1, 6):
        feed.deliver(vframe(ts))
    assert len(slow._queue) == 0 and slow.dropped >= 3
    feed.deliver(vframe(6, key=True))
    assert await slow.recv() == ((b"p6",), 6)
    assert len(fast._queue) == 7  # the fast subscriber lost nothing


async def test_audio_overflow_drops_oldest() -> None:
    feed, _ = make_feed(kind="audio")
    track = SlotTrack("audio", limit=2)
    track.switch(feed)
    for ts in (1, 2, 3):
        feed.deliver(EncodedFrame((b"a",), ts * 960, True, 0.0))
    assert [ts for _, ts in track._queue] == [1920, 2880] and track.dropped == 1


async def test_switching_feeds_keeps_the_timeline_continuous() -> None:
    a, _ = make_feed("alice")
    b, _ = make_feed("bob")
    track = SlotTrack("video", limit=10)
    track.switch(a)
    a.deliver(vframe(90_000, key=True, at=10.0))
    track.switch(b)
    assert a.sinks == () and b.sinks == (track,)
    b.deliver(vframe(5, key=True, at=10.5))  # bob's clock starts elsewhere
    first, second = await track.recv(), await track.recv()
    assert first[1] == 90_000
    assert second[1] == 90_000 + 45_000  # half a second later on the same timeline


async def test_recv_wakes_on_push_and_ends_on_stop() -> None:
    feed, _ = make_feed(kind="audio")
    track = SlotTrack("audio", limit=5)
    track.switch(feed)
    waiting = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    feed.deliver(EncodedFrame((b"x",), 7, True, 0.0))
    assert await asyncio.wait_for(waiting, 1) == ((b"x",), 7)
    track.stop()
    assert feed.sinks == ()
