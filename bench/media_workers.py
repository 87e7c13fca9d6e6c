"""`bench/media.py --workers N`: the SFU on N media worker processes (`--media-workers N`).

The bench's server process runs the node's side of the pool (`signaling/socket/
media_workers.py` + `media_pooled.py`, as the server does with `--media-workers N`):
N worker processes, the publisher's home on one of them, subscribers spread over
all, frames relayed between them. Its CPU and RSS are summed over the server process
and every worker process, so the relay's cost is in the figure.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

CLOCK_TICKS = 100


class PoolServer:
    """The bench server's `pool` kind: one event on a pool of worker processes."""

    def __init__(self, count: int, video_slots: int, audio_slots: int) -> None:
        self.count = count
        self.video_slots = video_slots
        self.audio_slots = audio_slots
        self.pool: Any = None
        self.sfu: Any = None

    async def _ready(self) -> None:
        if self.pool is not None:
            return
        from signaling.socket.media_pooled import PooledSfu
        from signaling.socket.media_workers import WorkerPool

        def news(index: int, kind: str, args: dict[str, Any]) -> None:
            if kind == "stage" and self.sfu.home is not None and self.sfu.home.index == index:
                self.sfu.staged(args["tracks"])

        async def lost(index: int) -> None:
            raise RuntimeError(f"media worker {index} died during the bench")

        self.pool = WorkerPool(self.count, [], ["127.0.0.1"], news, lost)
        await self.pool.start()
        self.sfu = PooledSfu(
            self.pool, "bench", self.video_slots, self.audio_slots, lambda tracks: None
        )

    async def publish(self, id: str, sdp: str, sources: dict[str, Any]) -> dict[str, Any]:
        await self._ready()
        return {"sdp": await self.sfu.publish(id, sdp, sources)}

    async def subscribe(self, id: str) -> dict[str, Any]:
        await self._ready()
        return {"sdp": (await self.sfu.subscribe(id)).sdp}

    async def answer(self, id: str, sdp: str) -> dict[str, Any]:
        await self.sfu.answer(id, sdp)
        return {}

    async def pids(self) -> dict[str, Any]:
        await self._ready()
        return {"pids": self.pool.pids()}

    async def relay(self) -> dict[str, Any]:
        """The relay's counters, summed over the workers."""
        totals = {"sent": 0, "received": 0, "dropped": 0, "holes": 0}
        for worker in self.pool.workers:
            stats = await worker.call("stats")
            for key in totals:
                totals[key] += stats["relay"][key]
        return totals

    async def close(self) -> None:
        if self.sfu is not None:
            await self.sfu.close()
        if self.pool is not None:
            await self.pool.close()


def cpu_seconds(pids: list[int], ticks: int) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / ticks


def rss_mib(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except FileNotFoundError:
            continue
        for line in lines:
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def slope(points: list[tuple[int, float]]) -> float:
    mean_n = statistics.fmean(n for n, _ in points)
    mean_c = statistics.fmean(c for _, c in points)
    return sum((n - mean_n) * (c - mean_c) for n, c in points) / sum(
        (n - mean_n) ** 2 for n, _ in points
    )


def compare(one: list[Any], pool: list[Any], count: int, cores: int) -> str:
    """The pool against one worker in the same run: slope, ratio, projected capacity."""
    one_slope = slope([(r.n, r.cpu) for r in one])
    pool_slope = slope([(r.n, r.cpu) for r in pool])
    ratio = pool_slope / one_slope
    capacity_one = 0.85 / one_slope  # one process: one core, whatever the machine has
    capacity = cores * 0.85 / pool_slope
    worst = min(r.delivered for r in pool if r.n)
    lines = [
        f"CPU per subscriber (slope over N, all processes): {one_slope:.3%} of a core with "
        f"1 worker, {pool_slope:.3%} with {count} workers: ratio {ratio:.2f}x "
        f"(target <= 1.05x: {'met' if ratio <= 1.05 else 'NOT met'})",
        f"frames delivered with {count} workers, worst subscriber at any N: {worst:.1%} "
        f"(target >= 99 %: {'met' if worst >= 0.99 else 'NOT met'})",
        f"projected capacity: 1 worker {capacity_one:.0f} viewers (one core); "
        f"{count} workers on {cores} cores {capacity:.0f} viewers "
        f"(cores x 85 % / CPU per subscriber; goal >= 800: {'met' if capacity >= 800 else 'NOT met'})",
    ]
    return "\n".join(lines)
