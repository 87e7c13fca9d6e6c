"""A media worker process: SFUs on their own core, controlled by the node.

    TRIBUNE_MEDIA_ICE=URLS python -m media.worker --fd FD --index I --count N --dir DIR [--host IP]

The node (``signaling/socket/media_workers.py``) starts N of these and talks to each over
the Unix stream socket it passes as ``--fd``: length-prefixed msgpack, requests
``[id, op, args]`` answered ``[id, ok, result | [code, message]]``, and this worker's
own news ``[0, kind, args]`` (an event's stage, its active speaker). A worker holds one
:class:`~media.Sfu` per event it serves: at the event's home worker the publishers'
connections (and its subscribers), elsewhere a copy of the home's stage made of relay
feeds (``media/relay.py``) and subscribers only. It imports nothing but ``media``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgpack

from media.errors import InvalidDescription, MediaError, NoFreeSlot, SfuClosed, UnknownPeer
from media.forward import Feed
from media.relay import Relay
from media.rtc import restrict_host_addresses
from media.sfu import Sfu
from media.types import IceServer, Speaker, StageTrack

log = logging.getLogger(__name__)

HEADER = struct.Struct("!I")
ICE_ENV = "TRIBUNE_MEDIA_ICE"
"""The ICE server URLs, one a line (in the environment: a TURN secret stays out of `ps`)."""
ERRORS: dict[type[MediaError], str] = {
    InvalidDescription: "invalid",
    NoFreeSlot: "stage_full",
    UnknownPeer: "not_found",
    SfuClosed: "closed",
}
"""What each media error is called on the channel (the node raises it again)."""


async def read_message(reader: asyncio.StreamReader) -> Any:
    (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
    return msgpack.unpackb(await reader.readexactly(size))


def frame_message(message: Any) -> bytes:
    data: bytes = msgpack.packb(message)
    return HEADER.pack(len(data)) + data


def plain_tracks(tracks: tuple[StageTrack, ...]) -> list[list[str]]:
    return [[t.publisher_id, t.source, t.kind, t.mid] for t in tracks]


class Worker:
    def __init__(self, index: int, count: int, directory: Path, ice: list[IceServer]) -> None:
        self.index = index
        self.ice = ice
        self.sfus: dict[str, Sfu] = {}
        self.homes: set[str] = set()
        """The events whose home this worker is (their publishers are here)."""
        self.relay = Relay(index, count, directory, self._home_feed)
        self._stages: dict[str, list[Feed]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._ops: dict[str, Callable[..., Awaitable[Any]]] = {
            name[3:]: getattr(self, name) for name in dir(self) if name.startswith("op_")
        }

    # -- the channel to the node -----------------------------------------------------------
    async def serve(self, fd: int) -> None:
        sock = socket.socket(fileno=fd)
        try:
            self.relay.open()
        except FileNotFoundError:  # the node stopped (and its directory went) as we started
            sock.close()
            return
        reader, self._writer = await asyncio.open_unix_connection(sock=sock, limit=1 << 22)
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                try:
                    request = await read_message(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return  # the node is gone
                task = asyncio.create_task(self._answer(*request))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            for sfu in list(self.sfus.values()):
                with contextlib.suppress(Exception):
                    await sfu.close()
            self.relay.close()

    async def _answer(self, call_id: int, op: str, args: dict[str, Any]) -> None:
        try:
            reply = [call_id, True, await self._ops[op](**args)]
        except MediaError as exc:
            reply = [call_id, False, [ERRORS.get(type(exc), "media"), str(exc)]]
        except Exception as exc:
            log.exception("media worker %d: %s failed", self.index, op)
            reply = [call_id, False, ["internal", f"{type(exc).__name__}: {exc}"]]
        self._send(reply)

    def _send(self, message: Any) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(frame_message(message))

    def _tell(self, kind: str, args: dict[str, Any]) -> None:
        self._send([0, kind, args])

    # -- operations ------------------------------------------------------------------------
    async def op_ready(self) -> int:
        """Answered once this worker's relay socket is bound (the node waits for it)."""
        return self.index

    async def op_open(
        self,
        event: str,
        video: int,
        audio: int,
        home: int,
        tracks: list[list[str]],
        codec: str = "VP8",
    ) -> None:
        """Serve an event here: as its home (publishers here) or as a sibling."""
        if event in self.sfus:
            return
        at_home = home == self.index
        self.sfus[event] = Sfu(
            video_slots=video,
            audio_slots=audio,
            video_codec=codec,  # type: ignore[arg-type]
            ice_servers=self.ice,
            on_stage_change=(lambda t: self._stage(event, t)) if at_home else None,
            on_speaker=(lambda w, c: self._speaker(event, w, c)) if at_home else None,
        )
        if at_home:
            self.homes.add(event)
        else:
            await self.op_mirror(event, home, tracks)

    async def op_publish(self, event: str, id: str, sdp: str, sources: dict[str, str]) -> str:
        return await self._sfu(event).publish(id, sdp, sources)  # type: ignore[arg-type]

    async def op_stop_track(self, event: str, id: str, source: str) -> bool:
        return await self._sfu(event).stop_track(id, source)  # type: ignore[arg-type]

    async def op_unpublish(self, event: str, id: str) -> None:
        await self._sfu(event).unpublish(id)

    async def op_subscribe(self, event: str, id: str, skip: str | None) -> list[Any]:
        offer = await self._sfu(event).subscribe(id, skip_publisher=skip)
        return [offer.sdp, [[s.mid, s.kind] for s in offer.slots]]

    async def op_answer(self, event: str, id: str, sdp: str) -> None:
        await self._sfu(event).answer(id, sdp)

    async def op_unsubscribe(self, event: str, id: str) -> None:
        await self._sfu(event).unsubscribe(id)

    async def op_mirror(self, event: str, home: int, tracks: list[list[str]]) -> None:
        """A sibling: hold the home's stage, each track a relay feed."""
        sfu = self.sfus.get(event)
        if sfu is None or event in self.homes:
            return
        placed = {
            int(mid): self.relay.copy(home, event, pid, source, kind)  # type: ignore[arg-type]
            for pid, source, kind, mid in tracks
        }
        self.relay.drop_copies(event, keep=placed.values())
        sfu.mirror(placed)

    async def op_close_event(self, event: str) -> None:
        sfu = self.sfus.pop(event, None)
        self.homes.discard(event)
        self.relay.forget(self._stages.pop(event, []))
        self.relay.drop_copies(event)
        if sfu is not None:
            await sfu.close()

    async def op_record_start(self, event: str, dir: str, part: int, offset: float) -> None:
        sfu = self._sfu(event)
        if sfu.recorder is not None:
            raise SfuClosed("the event is already being recorded")
        sfu.start_recording(Path(dir), part, offset)

    async def op_record_manifest(self, event: str) -> dict[str, Any] | None:
        sfu = self.sfus.get(event)
        recorder = None if sfu is None else sfu.recorder
        return None if recorder is None else recorder.manifest()

    async def op_record_stop(self, event: str) -> dict[str, Any] | None:
        sfu = self.sfus.get(event)
        return None if sfu is None else sfu.stop_recording()

    async def op_stats(self) -> dict[str, Any]:
        totals: dict[str, Any] = {"sfus": len(self.sfus), "subscribers": 0, "publishers": 0}
        for name in ("frames_received", "frames_forwarded", "frames_dropped", "delay_sum"):
            totals[name] = 0
        totals["delay_counts"] = []
        totals["per_subscriber"] = {}
        for sfu in self.sfus.values():
            stats = sfu.stats()
            totals["subscribers"] += stats.subscribers
            totals["publishers"] += stats.publishers
            totals["frames_received"] += stats.frames_received
            totals["frames_forwarded"] += stats.frames_forwarded
            totals["frames_dropped"] += stats.frames_dropped
            totals["delay_sum"] += stats.delay_sum
            counts = totals["delay_counts"] or [0] * len(stats.delay_counts)
            totals["delay_counts"] = [
                a + b for a, b in zip(counts, stats.delay_counts, strict=True)
            ]
            totals["per_subscriber"].update(stats.per_subscriber)
        totals["keyframe_requests"] = sum(
            sfu.stats().keyframe_requests for event, sfu in self.sfus.items() if event in self.homes
        )
        totals["stages"] = {event: plain_tracks(sfu.stage()) for event, sfu in self.sfus.items()}
        totals["copies"] = self.relay.copies()
        totals["taps"] = self.relay.tapped()
        relay = self.relay.stats
        totals["relay"] = {
            "sent": relay.sent,
            "received": relay.received,
            "dropped": relay.dropped,
            "holes": relay.holes,
        }
        return totals

    # -- news ------------------------------------------------------------------------------
    def _sfu(self, event: str) -> Sfu:
        sfu = self.sfus.get(event)
        if sfu is None:
            raise UnknownPeer(f"event {event} is not served by this worker")
        return sfu

    def _stage(self, event: str, tracks: tuple[StageTrack, ...]) -> None:
        sfu = self.sfus.get(event)
        if sfu is not None:
            feeds = sfu.stage_feeds()
            self.relay.follow(event, feeds, self._stages.get(event, ()))
            self._stages[event] = feeds
        self._tell("stage", {"event": event, "tracks": plain_tracks(tracks)})

    def _speaker(self, event: str, who: Speaker | None, changed: bool) -> None:
        person, source = ("", "") if who is None else (who.publisher_id, who.source)
        self._tell(
            "speaker", {"event": event, "person": person, "source": source, "changed": changed}
        )

    def _home_feed(self, event: str, publisher_id: str, source: str) -> Feed | None:
        for feed in self._stages.get(event, ()):
            if feed.publisher_id == publisher_id and feed.source == source:
                return feed
        return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m media.worker")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--host", action="append", default=[])
    args = parser.parse_args(argv)
    # The node stops us (the end of the channel), also when a terminal's Ctrl-C or a service
    # manager's SIGTERM reaches the whole process group: the node drains first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format=f"media worker {args.index}: %(message)s")
    restrict_host_addresses(args.host or None)
    worker = Worker(
        args.index,
        args.count,
        Path(args.dir),
        [IceServer.parse(u) for u in os.environ.get(ICE_ENV, "").split("\n") if u],
    )
    # The standard event loop, not uvloop: the forwarding path's batched, in-place send
    # (`media/wire.py`) needs the UDP socket behind the transport, which uvloop does not
    # expose (it would fall back to one `sendto` per packet), and the media benches'
    # per-subscriber figures are measured on this loop.
    asyncio.run(worker.serve(args.fd))


if __name__ == "__main__":
    main()
