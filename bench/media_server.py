"""`bench/media.py`'s server process: the SFU (or aiortc's MediaRelay, or the pool of media
workers) behind a JSON-lines socket on loopback, and the bench's handle on it."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCSessionDescription,
)

from bench.media_client import (
    AUDIO_SLOTS,
    CLK_TCK,
    GC_PAUSES,
    VIDEO_SLOTS,
    Rpc,
    loopback_only,
    watch_gc,
)
from bench.media_workers import PoolServer
from bench.media_workers import cpu_seconds as pool_cpu_seconds
from bench.media_workers import rss_mib as pool_rss_mib

# -- the server process ---------------------------------------------------------


class RelayServer:
    """aiortc's MediaRelay: decode the publisher once, encode for each subscriber."""

    def __init__(self) -> None:
        from aiortc.contrib.media import MediaRelay

        self.relay = MediaRelay()
        self.tracks: dict[str, MediaStreamTrack] = {}
        self.pcs: dict[str, RTCPeerConnection] = {}

    async def publish(self, id: str, sdp: str, sources: dict[str, str]) -> dict[str, Any]:
        pc = self.pcs[id] = RTCPeerConnection()
        pc.on("track", lambda track: self.tracks.__setitem__(track.kind, track))
        await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return {"sdp": pc.localDescription.sdp}

    async def subscribe(self, id: str) -> dict[str, Any]:
        pc = self.pcs[id] = RTCPeerConnection()
        for kind in ("video", "audio"):
            pc.addTrack(self.relay.subscribe(self.tracks[kind], buffered=False))
        await pc.setLocalDescription(await pc.createOffer())
        return {"sdp": pc.localDescription.sdp}

    async def answer(self, id: str, sdp: str) -> dict[str, Any]:
        await self.pcs[id].setRemoteDescription(RTCSessionDescription(sdp, "answer"))
        return {}

    async def close(self) -> None:
        for pc in self.pcs.values():
            await pc.close()


class SfuServer:
    def __init__(self) -> None:
        from media import Sfu

        self.sfu = Sfu(video_slots=VIDEO_SLOTS, audio_slots=AUDIO_SLOTS)

    async def publish(self, id: str, sdp: str, sources: dict[str, Any]) -> dict[str, Any]:
        return {"sdp": await self.sfu.publish(id, sdp, sources)}

    async def subscribe(self, id: str) -> dict[str, Any]:
        return {"sdp": (await self.sfu.subscribe(id)).sdp}

    async def answer(self, id: str, sdp: str) -> dict[str, Any]:
        await self.sfu.answer(id, sdp)
        return {}

    async def delays(self) -> dict[str, Any]:
        """The SFU's own forwarding delay histogram (frame in -> written, per slot)."""
        stats = self.sfu.stats()
        return {"counts": list(stats.delay_counts), "sum": stats.delay_sum}

    async def record_start(self, dir: str) -> dict[str, Any]:
        self.sfu.start_recording(Path(dir))
        return {}

    async def record_stop(self) -> dict[str, Any]:
        recorder = self.sfu.recorder
        dropped = 0 if recorder is None else recorder.writer.dropped
        manifest = self.sfu.stop_recording() or {}
        streams = len(manifest.get("tracks", []))
        return {"size_bytes": manifest.get("size_bytes", 0), "streams": streams, "dropped": dropped}

    async def close(self) -> None:
        await self.sfu.close()


async def serve(kind: str, workers: int = 1) -> None:
    """Child process: run one server behind a JSON-lines socket on loopback."""
    import cProfile
    import io
    import pstats

    loopback_only()
    watch_gc()
    server: Any = (
        SfuServer()
        if kind == "sfu"
        else PoolServer(workers, VIDEO_SLOTS, AUDIO_SLOTS)
        if kind == "pool"
        else RelayServer()
    )
    profiler: cProfile.Profile | None = None
    done = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal profiler
        while line := await reader.readline():  # until the bench hangs up
            request = json.loads(line)
            op = request.pop("op")
            try:
                if op == "profile_start":
                    profiler = cProfile.Profile(time.process_time)
                    profiler.enable()
                    reply: dict[str, Any] = {}
                elif op == "profile_stop":
                    assert profiler is not None
                    profiler.disable()
                    out = io.StringIO()
                    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(28)
                    reply = {"text": out.getvalue()}
                elif op == "gc_pauses":
                    reply = {"max": max(GC_PAUSES, default=0.0)}
                    GC_PAUSES.clear()
                elif op == "quit":
                    await server.close()
                    reply = {}
                    done.set()
                else:
                    reply = await getattr(server, op)(**request)
            except Exception as exc:  # reported to the bench, which stops
                reply = {"error": repr(exc)}
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
            if op == "quit":
                break
        writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0, limit=1 << 22)
    print("PORT", listener.sockets[0].getsockname()[1], flush=True)
    await done.wait()
    listener.close()


@dataclass
class ServerProcess:
    kind: str
    workers: int = 1
    proc: asyncio.subprocess.Process = field(init=False)
    rpc: Rpc = field(init=False)
    pids: list[int] = field(default_factory=list)

    async def start(self, uvloop: bool, nice: int) -> None:
        args = [
            sys.executable,
            str(Path(__file__).with_name("media.py")),
            "--serve",
            self.kind,
            "--nice",
            str(nice),
        ]
        args += ["--workers", str(self.workers)]
        args += ["--uvloop"] if uvloop else []
        self.proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
        assert self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        port = int(line.split()[1])
        self.rpc = Rpc(*await asyncio.open_connection("127.0.0.1", port, limit=1 << 22))
        self.pids = [self.proc.pid]
        if self.kind == "pool":  # and the worker processes'
            self.pids += (await self.rpc.call("pids"))["pids"]

    def cpu_seconds(self) -> float:
        if len(self.pids) > 1:
            return pool_cpu_seconds(self.pids, CLK_TCK)
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime

    def rss_mib(self) -> float:
        if len(self.pids) > 1:
            return pool_rss_mib(self.pids)
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.rpc.call("quit"), 20)
        except Exception:
            pass
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
