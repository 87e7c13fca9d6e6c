"""Media failover time: the owner node of an event is killed -9; how long until the
survivor has taken the event over (`media.restart`), and until a viewer's first video
frame through the survivor.

Two `tribune serve` nodes (production timings: heartbeat lease 3 s, beat every 1 s) on a
private redis-server, all on 127.0.0.1. Each run starts a fresh node A, makes it the
owner of a new event (a viewer connected to A subscribes first), publishes a camera
from a presenter on node B and watches it from a viewer on B (both routed to A), then
kills A. The presenter and viewer do what the page does on `media.restart`: publish and
subscribe again on new connections.

    .venv/bin/python bench/failover.py --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aioice.ice
import socketio
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import HOST, free_port, http, wait_ready

ROOT = Path(__file__).resolve().parents[1]
TRIBUNE = str(ROOT / ".venv" / "bin" / "tribune")


class Peer:
    """A Socket.IO client of /room with an aiortc connection; counts video frames."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.sio = socketio.AsyncClient(serializer="msgpack", reconnection=False)
        self.events: dict[str, list[Any]] = {}
        self.pc: RTCPeerConnection | None = None
        self.frames = 0
        self.first_frame: float | None = None
        self.tasks: list[asyncio.Task[None]] = []

    async def connect(self) -> None:
        async def any_event(event: str, data: Any = None) -> None:
            self.events.setdefault(event, []).append((time.monotonic(), data))

        self.sio.on("*", any_event, namespace="/room")
        auth = {"token": self.token, "device": secrets.token_hex(8)}
        await self.sio.connect(
            self.url, namespaces=["/room"], auth=auth, transports=["websocket"], wait_timeout=10
        )

    async def call(self, event: str, payload: Any = None) -> Any:
        ack = await self.sio.call(event, payload or {}, namespace="/room", timeout=15)
        assert ack["ok"], (event, ack)
        return ack

    async def publish(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        self.pc = RTCPeerConnection()
        t = self.pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        sdp = self.pc.localDescription.sdp
        ack = await self.call("media.publish", {"sdp": sdp, "sources": {t.mid: "camera"}})
        await self.pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "answer"))

    async def subscribe(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        for task in self.tasks:
            task.cancel()
        self.frames, self.first_frame = 0, None
        self.pc = pc = RTCPeerConnection()

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "video":
                self.tasks.append(asyncio.ensure_future(self._count(track)))

        ack = await self.call("media.subscribe")
        await pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await self.call("media.answer", {"sdp": pc.localDescription.sdp})

    async def _count(self, track: Any) -> None:
        try:
            while True:
                await track.recv()
                self.frames += 1
                if self.first_frame is None:
                    self.first_frame = time.monotonic()
        except Exception:
            pass

    async def wait(self, what: str, check: Any, limit: float = 20) -> float:
        deadline = time.monotonic() + limit
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError(what)
            await asyncio.sleep(0.01)
        return time.monotonic()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()
        await self.sio.disconnect()


def start_node(redis_url: str, secret: str, log: Path) -> tuple[subprocess.Popen[Any], str]:
    port = free_port()
    cmd = [TRIBUNE, "serve", "--host", HOST, "--port", str(port), "--redis-url", redis_url,
           "--secret", secret, "--log-level", "WARNING"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("ab"))
    url = f"http://{HOST}:{port}"
    wait_ready(proc, url + "/healthz")
    return proc, url


async def one_run(
    redis_url: str, secret: str, key: str, node_b: str, log: Path
) -> tuple[float, float]:
    proc, node_a = start_node(redis_url, secret, log)
    peers: list[Peer] = []
    try:
        event = http("POST", node_b + "/api/v1/events", {"title": "Failover"}, key)
        invs = node_b + f"/api/v1/events/{event['id']}/invitations"
        presenter = http("POST", invs, {"role": "presenter", "name": "P"}, key)["token"]
        viewer_link = http("POST", invs, {"role": "participant", "shared": True}, key)["token"]
        first, pres, viewer = (
            Peer(node_a, viewer_link),
            Peer(node_b, presenter),
            Peer(node_b, viewer_link),
        )
        peers = [first, pres, viewer]
        for p in peers:
            await p.connect()
        await first.subscribe()  # node A owns the event's media
        await pres.publish()
        await viewer.subscribe()
        await viewer.wait("frames through the owner", lambda: viewer.frames > 10)
        os.kill(proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        await viewer.wait("media.restart", lambda: "media.restart" in viewer.events)
        restarted = viewer.events["media.restart"][0][0]
        await pres.publish()
        await viewer.subscribe()
        framed = await viewer.wait(
            "a frame on the survivor", lambda: viewer.first_frame is not None
        )
        return restarted - killed, framed - killed
    finally:
        for p in peers:
            await p.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()


async def runs(count: int, redis_url: str, secret: str, key: str, url_b: str, log: Path) -> None:
    takeover, frame = [], []
    for i in range(count):
        t, f = await one_run(redis_url, secret, key, url_b, log)
        takeover.append(t)
        frame.append(f)
        print(f"run {i + 1}: takeover {t:.2f} s, first frame on the survivor {f:.2f} s", flush=True)
    print(
        f"takeover (kill -> media.restart): p50 {statistics.median(takeover):.2f} s, "
        f"max {max(takeover):.2f} s\n"
        f"failover (kill -> first frame on the survivor): p50 {statistics.median(frame):.2f} s, "
        f"max {max(frame):.2f} s"
    )


def main(args: argparse.Namespace) -> None:
    aioice.ice.get_host_addresses = lambda **_: ["127.0.0.1"]  # type: ignore[assignment]
    work = Path(tempfile.mkdtemp(prefix="tribune-failover-"))
    port = free_port()
    redis = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", HOST,
         "--save", "", "--appendonly", "no", "--dir", str(work)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    redis_url = f"redis://{HOST}:{port}/0"
    secret = secrets.token_hex(32)
    log = work / "nodes.log"
    node_b: subprocess.Popen[Any] | None = None
    try:
        time.sleep(0.5)
        out = subprocess.run(
            [TRIBUNE, "account", "create", "Bench", "--json", "--parallel-events", "100",
             "--redis-url", redis_url],
            cwd=ROOT, capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        key = json.loads(out.stdout.strip().splitlines()[-1])["api_key"]
        node_b, url_b = start_node(redis_url, secret, log)
        asyncio.run(runs(args.runs, redis_url, secret, key, url_b, log))
        tracebacks = log.read_text(errors="replace").count("Traceback")
        print(f"tracebacks in the nodes' logs: {tracebacks}")
    finally:
        if node_b is not None:
            node_b.kill()
            node_b.wait()
        redis.kill()
        redis.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    main(parser.parse_args())
