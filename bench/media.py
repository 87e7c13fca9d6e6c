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
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench.media_client import (
    AUDIO_SLOTS,
    FPS,
    VIDEO_SLOTS,
    Probe,
    Publisher,
    Rpc,
    encode_audio,
    encode_video,
    loopback_only,
    machine_busy,
    udp_receive_drops,
)
from bench.media_server import ServerProcess, serve
from bench.media_workers import compare

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
