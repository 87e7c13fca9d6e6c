"""Benchmark of the media SFU against aiortc's MediaRelay, in separate processes.

One publisher sends pre-encoded 1280x720 30 fps VP8 (~1.5 Mbps) and Opus; N
harness subscribers count what arrives without decoding. The server runs in
its own process so its CPU (share of one core, from /proc) and RSS are its
own. The baseline is aiortc's MediaRelay server (decode once, encode per
subscriber), measured in the same run at a small N.

    .venv/bin/python bench/media.py            # N = 10, 50, 100 (~1.5 min)
    .venv/bin/python bench/media.py --quick    # N = 5, 20 (~45 s)
    .venv/bin/python bench/media.py --profile  # py-spy (or cProfile) of the server, N = 50
    .venv/bin/python bench/media.py --nice 10  # on a shared machine: our processes first
    .venv/bin/python bench/media.py --record   # N = 50 with and without a recording running
    .venv/bin/python bench/media.py --record --quick  # N = 20 (~1 min)
    .venv/bin/python bench/media.py --workers 2       # 1 worker vs 2 worker processes
    .venv/bin/python bench/media.py --workers 2 --quick

``--workers N`` runs the SFU in the server process (one worker, as ``--media-workers 1``)
and then on N media worker processes (``bench/media_workers.py``), at the same N, and
prints the CPU per subscriber of each (summed over every process), their ratio, and the
projected capacity of this machine.

``--record`` measures the SFU serving the same N subscribers alternately without and
with a recording of the stage running (windows in pairs, so that a change of load on
the machine falls on both), and prints the extra CPU per recorded stream.

Delay is measured from the publisher packetizing a frame to the harness
receiving its last packet, both in this process: it includes two loopback hops
and this process's own scheduling, so it bounds from above what the server adds.
The "in SFU" column is the server's own histogram (``Sfu.stats()``: from a
frame's last packet in to its packets written, per slot), so the two can be told
apart.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aioice.ice
import av
from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.codecs.vpx import Vp8Encoder

from bench.media_workers import PoolServer, compare
from bench.media_workers import cpu_seconds as pool_cpu_seconds
from bench.media_workers import rss_mib as pool_rss_mib

FPS = 30
VIDEO_BITRATE = 1_500_000
LOOP_FRAMES = 150  # 5 s of video, looped; frame 0 is the only keyframe
VIDEO_SLOTS, AUDIO_SLOTS = 9, 8  # 8 cameras + 1 screen, 8 microphones
CLK_TCK = os.sysconf("SC_CLK_TCK")


GC_PAUSES: list[float] = []


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all processes, all cores)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


def udp_receive_drops() -> int:
    lines = [x for x in Path("/proc/net/snmp").read_text().splitlines() if x.startswith("Udp:")]
    header, values = lines[0].split(), lines[1].split()
    return int(values[header.index("RcvbufErrors")])


def watch_gc() -> None:
    import gc

    started = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            GC_PAUSES.append(time.perf_counter() - started[0])

    gc.callbacks.append(callback)


def loopback_only() -> None:
    """Gather only 127.0.0.1 host candidates, in this process."""
    aioice.ice.get_host_addresses = lambda **_: ["127.0.0.1"]


# -- pre-encoded media (client side, once) ------------------------------------


def encode_video() -> list[bytes]:
    graph = av.filter.Graph()
    source = graph.add("testsrc2", f"size=1280x720:rate={FPS}")
    sink = graph.add("buffersink")
    source.link_to(sink)
    graph.configure()
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = 1280, 720, "yuv420p"
    codec.bit_rate = VIDEO_BITRATE
    codec.time_base = fractions.Fraction(1, FPS)
    codec.framerate = FPS
    codec.gop_size = 10 * LOOP_FRAMES
    rate = str(VIDEO_BITRATE)
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "minrate": rate,
        "maxrate": rate,
        "bufsize": rate,
    }
    frames: list[bytes] = []
    for i in range(LOOP_FRAMES):
        frame = sink.pull().reformat(format="yuv420p")
        frame.pts = i
        frame.pict_type = av.video.frame.PictureType.NONE
        frames += [bytes(p) for p in codec.encode(frame)]
    frames += [bytes(p) for p in codec.encode(None)]
    return frames[:LOOP_FRAMES]


def encode_audio() -> list[bytes]:
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.format, codec.layout = 48000, "s16", "stereo"
    codec.bit_rate = 32000
    codec.time_base = fractions.Fraction(1, 48000)
    packets: list[bytes] = []
    for n in range(50):
        samples = bytearray()
        for i in range(960):
            v = int(8000 * math.sin(2 * math.pi * 440 * (n * 960 + i) / 48000))
            samples += v.to_bytes(2, "little", signed=True) * 2
        frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
        frame.planes[0].update(bytes(samples))
        frame.sample_rate, frame.pts = 48000, n * 960
        packets += [bytes(p) for p in codec.encode(frame)]
    return packets


# -- the publisher -------------------------------------------------------------


class PacketTrack(MediaStreamTrack):
    """Yields pre-encoded packets at their real rate; a PLI restarts the loop at
    its keyframe, so the stream stays decodable."""

    def __init__(self, kind: str, packets: list[bytes], rate: int, clock: int) -> None:
        super().__init__()
        self.kind = kind
        self._packets, self._period, self._ticks = packets, 1 / rate, clock // rate
        self._n = self._i = 0
        self._start: float | None = None
        self.keyframe_wanted = False

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self._start is None:
            self._start = time.perf_counter()
        delay = self._start + self._n * self._period - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if self.keyframe_wanted or self._i >= len(self._packets):
            self.keyframe_wanted, self._i = False, 0
        packet = av.Packet(self._packets[self._i])
        packet.pts = self._n * self._ticks
        packet.time_base = fractions.Fraction(1, self._ticks * round(1 / self._period))
        self._n += 1
        self._i += 1
        return packet


class RecordingVp8(Vp8Encoder):
    """The publisher's packetizer, noting when each picture id went out."""

    def __init__(self, sent: dict[int, float]) -> None:
        super().__init__()
        self.sent = sent

    def pack(self, packet: av.Packet) -> tuple[list[bytes], int]:
        self.sent[self.picture_id] = time.perf_counter()
        return super().pack(packet)


class Publisher:
    def __init__(self, video: list[bytes], audio: list[bytes]) -> None:
        self.pc = RTCPeerConnection()
        self.sent: dict[int, float] = {}
        self.video = PacketTrack("video", video, FPS, 90000)
        self.audio = PacketTrack("audio", audio, 50, 48000)
        video_tx = self.pc.addTransceiver(self.video, direction="sendonly")
        self.pc.addTransceiver(self.audio, direction="sendonly")
        video_tx.sender._RTCRtpSender__encoder = RecordingVp8(self.sent)  # type: ignore[attr-defined]
        video_tx.sender._send_keyframe = self._keyframe  # type: ignore[method-assign]

    def _keyframe(self) -> None:
        self.video.keyframe_wanted = True

    async def start(self, rpc: Rpc) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        video_mid, audio_mid = (t.mid for t in self.pc.getTransceivers())
        sources = {video_mid: "camera", audio_mid: "mic"}
        reply = await rpc.call(
            "publish", id="presenter", sdp=self.pc.localDescription.sdp, sources=sources
        )
        await self.pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        deadline = time.monotonic() + 10
        while self.pc.connectionState != "connected":
            if time.monotonic() > deadline:
                raise RuntimeError("publisher did not connect")
            await asyncio.sleep(0.02)


# -- harness subscribers: count packets, decode nothing ------------------------


class Probe:
    """A subscriber that answers like a browser but only counts what arrives.

    It hooks its DTLS transport right after SRTP decryption, so no jitter
    buffer, decoder or RTCP runs on the client side."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.pc = RTCPeerConnection()
        self.video_pt = -1
        self.video_frames = self.audio_packets = self.packets = 0
        self.arrivals: dict[int, float] = {}
        self.subscribed_at = 0.0
        self.first_video: float | None = None

    async def start(self, rpc: Rpc) -> None:
        self.subscribed_at = time.perf_counter()
        offer = await rpc.call("subscribe", id=self.name)
        await self.pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        for t in self.pc.getTransceivers():
            t.receiver.receive = _no_receive  # type: ignore[method-assign]
            if t.kind == "video" and self.video_pt < 0:
                self.video_pt = t._codecs[0].payloadType
        transport = self.pc.getTransceivers()[0].receiver.transport
        transport._handle_rtp_data = self._on_rtp  # type: ignore[method-assign]
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await rpc.call("answer", id=self.name, sdp=self.pc.localDescription.sdp)

    async def _on_rtp(self, data: bytes, arrival_time_ms: int) -> None:
        self.packets += 1
        if data[1] & 0x7F != self.video_pt:
            self.audio_packets += 1
            return
        if not data[1] & 0x80:  # not the last packet of the frame
            return
        now = time.perf_counter()
        self.video_frames += 1
        if self.first_video is None:
            self.first_video = now
        pos = 12 + 4 * (data[0] & 0x0F)
        if data[0] & 0x10:
            pos += 4 + 4 * int.from_bytes(data[pos + 2 : pos + 4], "big")
        if data[pos] & 0x80 and data[pos + 1] & 0x80:  # VP8 descriptor with PictureID
            picture_id = data[pos + 2] & 0x7F
            if data[pos + 2] & 0x80:
                picture_id = (picture_id << 8) | data[pos + 3]
            self.arrivals.setdefault(picture_id, now)


async def _no_receive(parameters: Any) -> None:
    return None


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


class Rpc:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.lock = asyncio.Lock()

    async def call(self, op: str, **args: Any) -> dict[str, Any]:
        async with self.lock:
            self.writer.write(json.dumps({"op": op, **args}).encode() + b"\n")
            reply: dict[str, Any] = json.loads(await self.reader.readline())
        if "error" in reply:
            raise RuntimeError(f"server {op}: {reply['error']}")
        return reply


@dataclass
class ServerProcess:
    kind: str
    workers: int = 1
    proc: asyncio.subprocess.Process = field(init=False)
    rpc: Rpc = field(init=False)
    pids: list[int] = field(default_factory=list)

    async def start(self, uvloop: bool, nice: int) -> None:
        args = [sys.executable, __file__, "--serve", self.kind, "--nice", str(nice)]
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


# -- measuring --------------------------------------------------------------------


@dataclass
class Row:
    server: str
    n: int
    cpu: float  # share of one core
    rss: float  # MiB
    delivered: float  # worst subscriber's share of the frames sent in the window
    delays: list[float]  # seconds, every (subscriber, frame) in the window
    join: list[float]  # seconds from subscribe to first video frame
    client_cpu: float
    others: float  # CPU used meanwhile by other processes on the machine (cores)
    drops: int  # UDP datagrams the kernel dropped for full receive buffers
    gc_pause: float  # longest garbage-collection pause in the server (s)
    server_delay: tuple[float, float] | None = None  # in the SFU: p95 bucket bound, mean (s)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def add_probes(rpc: Rpc, probes: list[Probe], count: int, batch: int = 10) -> None:
    start = len(probes)
    new = [Probe(f"probe{i}") for i in range(start, start + count)]
    for i in range(0, len(new), batch):
        await asyncio.gather(*(p.start(rpc) for p in new[i : i + batch]))
    probes += new
    deadline = time.monotonic() + 30
    while any(p.first_video is None for p in new):
        if time.monotonic() > deadline:
            missing = sum(p.first_video is None for p in new)
            raise RuntimeError(f"{missing} subscribers got no video in 30 s")
        await asyncio.sleep(0.05)


async def measure(
    server: ServerProcess, publisher: Publisher, probes: list[Probe], n: int, window: float
) -> Row:
    await asyncio.sleep(2)  # settle after the joins
    sent_before = set(publisher.sent)
    frames_before = [p.video_frames for p in probes]
    cpu0, client0, t0 = server.cpu_seconds(), time.process_time(), time.perf_counter()
    await server.rpc.call("gc_pauses")  # start a fresh record
    delays0 = await server.rpc.call("delays") if server.kind == "sfu" else None
    busy0, drops0 = machine_busy(), udp_receive_drops()
    await asyncio.sleep(window)
    cpu1, client1, t1 = server.cpu_seconds(), time.process_time(), time.perf_counter()
    busy1, drops1 = machine_busy(), udp_receive_drops()
    gc_pause = (await server.rpc.call("gc_pauses"))["max"]
    delays1 = await server.rpc.call("delays") if server.kind == "sfu" else None
    rss = server.rss_mib()
    window_sent = {pid: at for pid, at in publisher.sent.items() if pid not in sent_before}
    await asyncio.sleep(0.5)  # let the last frames of the window arrive
    delivered, delays = 1.0, []
    if probes and window_sent:
        for probe, before in zip(probes, frames_before, strict=True):
            if server.kind != "relay":
                got = [
                    probe.arrivals[pid] - at
                    for pid, at in window_sent.items()
                    if pid in probe.arrivals
                ]
                delays += got
                share = len(got) / len(window_sent)
            else:  # the relay renumbers pictures: count frames instead
                share = (probe.video_frames - before) / len(window_sent)
            delivered = min(delivered, share)
    join = [p.first_video - p.subscribed_at for p in probes if p.first_video is not None]
    elapsed = t1 - t0
    ours = (cpu1 - cpu0) + (client1 - client0)
    return Row(
        server.kind,
        n,
        (cpu1 - cpu0) / elapsed,
        rss,
        delivered,
        delays,
        join,
        (client1 - client0) / elapsed,
        max(0.0, (busy1 - busy0 - ours) / elapsed),
        drops1 - drops0,
        gc_pause,
        server_delay(delays0, delays1),
    )


def server_delay(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> tuple[float, float] | None:
    """p95 (the upper bound of its bucket) and mean of the SFU's own forwarding delay."""
    if before is None or after is None:
        return None
    from media.types import DELAY_BUCKETS

    counts = [b - a for a, b in zip(before["counts"], after["counts"], strict=True)]
    total = sum(counts)
    if not total:
        return None
    i = seen = 0
    while i < len(counts) - 1 and seen + counts[i] < 0.95 * total:
        seen += counts[i]
        i += 1
    bound = DELAY_BUCKETS[i] if i < len(DELAY_BUCKETS) else float("inf")
    return bound, (after["sum"] - before["sum"]) / total


async def run_server(
    kind: str,
    steps: list[int],
    window: float,
    video: list[bytes],
    audio: list[bytes],
    uvloop: bool,
    nice: int,
    profile: bool = False,
    workers: int = 1,
) -> list[Row]:
    server = ServerProcess(kind, workers)
    await server.start(uvloop, nice)
    publisher = Publisher(video, audio)
    probes: list[Probe] = []
    rows: list[Row] = []
    try:
        await publisher.start(server.rpc)
        rows.append(await measure(server, publisher, probes, 0, min(window, 5)))
        for n in steps:
            await add_probes(server.rpc, probes, n - len(probes))
            spy = start_py_spy(server.proc.pid, window + 2) if profile else None
            if profile and spy is None:
                await server.rpc.call("profile_start")
            rows.append(await measure(server, publisher, probes, n, window))
            if spy is not None:
                print(summarize_py_spy(spy))
            elif profile:
                print((await server.rpc.call("profile_stop"))["text"])
            print(f"  {kind} N={n}: {rows[-1].cpu:.1%} of a core", file=sys.stderr, flush=True)
        if kind == "pool":
            relay = await server.rpc.call("relay")
            print(
                f"relay between the workers: {relay['sent']} datagrams sent, "
                f"{relay['received']} received, {relay['dropped']} dropped, "
                f"{relay['holes']} holes seen",
                flush=True,
            )
    finally:
        for probe in probes:
            await probe.pc.close()
        await publisher.pc.close()
        await server.stop()
    return rows


PY_SPY_OUT = Path("/tmp/tribune-media-bench.pyspy")


def start_py_spy(pid: int, seconds: float) -> subprocess.Popen[bytes] | None:
    """Sample the server with py-spy (CPU samples only), if it is installed."""
    exe = Path(sys.executable).with_name("py-spy")
    if not exe.exists():
        return None
    args = [str(exe), "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "200"]
    args += ["-f", "raw", "-o", str(PY_SPY_OUT), "--nonblocking"]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarize_py_spy(spy: subprocess.Popen[bytes], top: int = 30) -> str:
    """Self and total share of samples per function, from py-spy's collapsed stacks."""
    spy.wait(timeout=60)
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in PY_SPY_OUT.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [
            f.split(" (")[0] + " " + f.rsplit("/", 1)[-1].split(":")[0].rstrip(")")
            for f in stack.split(";")
        ]
        n = int(count)
        samples += n
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for f in set(frames):
            total[f] = total.get(f, 0) + n
    lines = [f"py-spy: {samples} CPU samples of the server process", "self%  total%  function"]
    for f, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{n / samples:5.1%}  {total[f] / samples:5.1%}  {f}")
    lines.append("largest totals:")
    for f, n in sorted(total.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{own.get(f, 0) / samples:5.1%}  {n / samples:5.1%}  {f}")
    return "\n".join(lines)


def report(sfu: list[Row], relay: list[Row]) -> str:
    base = sfu[0]
    points = [(r.n, r.cpu) for r in sfu]
    mean_n = statistics.fmean(n for n, _ in points)
    mean_c = statistics.fmean(c for _, c in points)
    slope = sum((n - mean_n) * (c - mean_c) for n, c in points) / sum(
        (n - mean_n) ** 2 for n, _ in points
    )
    # The baseline from its largest N that still delivered everything: a
    # saturated relay uses less CPU per subscriber than it needs.
    relay_sub = [r for r in relay if r.n > 0]
    unsaturated = [r for r in relay_sub if r.delivered >= 0.99]
    base_row = (unsaturated or relay_sub)[-1] if relay_sub else None
    relay_per = (base_row.cpu - relay[0].cpu) / base_row.n if base_row else float("nan")
    lines = [
        "| server | N | CPU (core) | CPU/sub | (CPU-CPU0)/N | delivered (worst sub) "
        "| delay p50 / p95 | in SFU p95 ≤ / mean | RSS MiB | RSS/sub MiB | join p50 / max "
        "| server GC max | client CPU | other procs | UDP drops |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in [*sfu, *relay]:
        zero = base if r.server != "relay" else relay[0]
        per = f"{r.cpu / r.n:.2%}" if r.n else "-"
        marginal = f"{(r.cpu - zero.cpu) / r.n:.2%}" if r.n else "-"
        rss_per = f"{(r.rss - zero.rss) / r.n:.3f}" if r.n else "-"
        delay = (
            f"{percentile(r.delays, 0.5) * 1000:.1f} / {percentile(r.delays, 0.95) * 1000:.1f} ms"
            if r.delays
            else "-"
        )
        join = f"{percentile(r.join, 0.5):.2f} / {max(r.join):.2f} s" if r.join else "-"
        own = (
            f"{r.server_delay[0] * 1000:g} / {r.server_delay[1] * 1000:.2f} ms"
            if r.server_delay
            else "-"
        )
        delivered = f"{r.delivered:.1%}" if r.n else "-"
        lines.append(
            f"| {r.server} | {r.n} | {r.cpu:.1%} | {per} | {marginal} | {delivered} | {delay} "
            f"| {own} | {r.rss:.0f} | {rss_per} | {join} | {r.gc_pause * 1000:.0f} ms "
            f"| {r.client_cpu:.0%} | {r.others:.0%} | {r.drops} |"
        )
    lines.append("")
    busy = [r for r in [*sfu, *relay] if r.others > 0.2]
    if busy:
        lines.append(
            f"WARNING: other processes used up to {max(r.others for r in busy):.0%} of a core "
            "during some windows: delivery, delay and join figures are not clean."
        )
    lines.append(f"SFU slope from the N points: {slope:.3%} of a core per subscriber")
    if base_row is not None:
        saturated = "" if unsaturated else " (saturated: an underestimate)"
        lines.append(
            f"MediaRelay baseline at N={base_row.n}: {relay_per:.1%} of a core per subscriber"
            f"{saturated}; SFU slope / baseline = 1/{relay_per / slope:.0f}"
        )
    return "\n".join(lines)


async def run_record(
    n: int, window: float, pairs: int, video: list[bytes], audio: list[bytes], args: Any
) -> str:
    """The SFU at N subscribers, windows without and with a recording, in pairs."""
    import tempfile

    server = ServerProcess("sfu")
    await server.start(args.uvloop, args.nice)
    publisher = Publisher(video, audio)
    probes: list[Probe] = []
    off: list[Row] = []
    on: list[Row] = []
    written, streams, dropped, recorded_s = 0, 0, 0, 0.0
    try:
        await publisher.start(server.rpc)
        await add_probes(server.rpc, probes, n)
        with tempfile.TemporaryDirectory(prefix="tribune-bench-rec") as tmp:
            for i in range(pairs):
                off.append(await measure(server, publisher, probes, n, window))
                started = time.perf_counter()
                await server.rpc.call("record_start", dir=f"{tmp}/rec{i}")
                on.append(await measure(server, publisher, probes, n, window))
                done = await server.rpc.call("record_stop")
                recorded_s += time.perf_counter() - started
                written += done["size_bytes"]
                streams, dropped = done["streams"], dropped + done["dropped"]
                print(
                    f"  pair {i + 1}: {off[-1].cpu:.1%} without, {on[-1].cpu:.1%} with; "
                    f"delivered {off[-1].delivered:.1%} / {on[-1].delivered:.1%}",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        for probe in probes:
            await probe.pc.close()
        await publisher.pc.close()
        await server.stop()
    base = statistics.fmean(r.cpu for r in off)
    with_rec = statistics.fmean(r.cpu for r in on)
    deltas = [b.cpu - a.cpu for a, b in zip(off, on, strict=True)]
    per_stream = statistics.fmean(deltas) / max(streams, 1)
    spread = (max(deltas) - min(deltas)) / max(streams, 1)
    worst = min(r.delivered for r in on)
    worst_off = min(r.delivered for r in off)
    others = max(r.others for r in [*off, *on])
    return "\n".join(
        [
            "| N | recorded streams | CPU without (core) | CPU with | extra per recorded stream "
            "| spread over pairs | delivered (worst) without / with | written | frames dropped "
            "| other procs |",
            "|---|---|---|---|---|---|---|---|---|---|",
            f"| {n} | {streams} | {base:.1%} | {with_rec:.1%} | {per_stream:.2%} of a core "
            f"| ±{spread / 2:.2%} | {worst_off:.1%} / {worst:.1%} | {written * 8 / recorded_s / 1e6:.2f} Mbps "
            f"| {dropped} | {others:.0%} |",
            "",
            f"recording: {per_stream:.2%} of a core per recorded stream "
            f"(target <= 2 %): {'met' if per_stream <= 0.02 else 'NOT met'}",
        ]
    )


async def main(args: argparse.Namespace) -> None:
    loopback_only()
    started = time.perf_counter()
    video, audio = encode_video(), encode_audio()
    bitrate = sum(map(len, video)) * 8 / (len(video) / FPS)
    print(
        f"pre-encoded {len(video)} VP8 frames 1280x720 at {bitrate / 1e6:.2f} Mbps "
        f"and {len(audio)} Opus packets in {time.perf_counter() - started:.1f}s; "
        f"subscribe connections carry {VIDEO_SLOTS} video + {AUDIO_SLOTS} audio slots",
        flush=True,
    )
    if args.record:
        n, window, pairs = (20, 4.0, 3) if args.quick else (50, 10.0, 3)
        print(await run_record(n, window, pairs, video, audio, args))
        print(f"\ntotal bench time {time.perf_counter() - started:.0f}s on {os.cpu_count()} CPUs")
        return
    if args.profile:
        steps = [20 if args.quick else 50]
        await run_server("sfu", steps, 10, video, audio, args.uvloop, args.nice, True)
        return
    steps, window, base = ([5, 20], 4.0, [2]) if args.quick else ([10, 50, 100], 10.0, [2, 5])
    if args.workers >= 2:
        if args.quick:
            steps = [10, 50]
        one = await run_server("sfu", steps, window, video, audio, args.uvloop, args.nice)
        pool = await run_server(
            "pool", steps, window, video, audio, args.uvloop, args.nice, workers=args.workers
        )
        print(report(one, []))
        print(report(pool, []))
        print(compare(one, pool, args.workers, os.cpu_count() or 1))
        print(f"\ntotal bench time {time.perf_counter() - started:.0f}s on {os.cpu_count()} CPUs")
        return
    relay = await run_server("relay", base, window, video, audio, args.uvloop, args.nice)
    sfu = await run_server("sfu", steps, window, video, audio, args.uvloop, args.nice)
    print(report(sfu, relay))
    nice = f", bench processes at nice -{args.nice}" if args.nice else ""
    print(f"\ntotal bench time {time.perf_counter() - started:.0f}s on {os.cpu_count()} CPUs{nice}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 5, 20 and short windows")
    parser.add_argument("--profile", action="store_true", help="cProfile the SFU server")
    parser.add_argument("--uvloop", action="store_true", help="run the server on uvloop")
    parser.add_argument(
        "--record", action="store_true", help="the SFU with and without a recording running"
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        metavar="N",
        help="raise this bench's own processes N steps above others (needs root): "
        "for clean delivery/delay figures on a shared machine",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="also run the SFU on N media worker processes and compare (N >= 2)",
    )
    parser.add_argument("--serve", choices=["sfu", "relay", "pool"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.nice:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, -args.nice)
        except PermissionError:
            print("--nice needs root; running at normal priority", file=sys.stderr)
    if args.serve:
        if args.uvloop:
            import uvloop

            uvloop.install()
        asyncio.run(serve(args.serve, args.workers))
    else:
        asyncio.run(main(args))
