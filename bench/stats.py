"""Statistics and export benchmark (issue 5): 100,000 sessions of 10,000 identities.

    .venv/bin/python bench/stats.py              # memory store, and Redis if redis-server exists
    .venv/bin/python bench/stats.py --no-redis   # memory store only
    .venv/bin/python bench/stats.py --sessions 20000 --identities 2000   # smaller

Fills a store with sessions the way the recorder writes them (10 per identity on
average, reconnects and overlapping tabs included, languages, live and replay), then:

- statistics: `room.audience.stats.event_stats` for the whole event, timed 5 times (median and
  worst), and its peak Python allocation (tracemalloc, in a separate run so it does not
  slow the timed ones). Baseline: reading and decoding the sessions (visits) alone.
- export: the 100,000-row sessions table written as XLSX exactly as the HTTP export does
  (`room.audience.exports.write_xlsx`, openpyxl write-only, page by page from the store); the peak
  RSS growth is VmHWM after the export minus VmRSS before it, with the high-water mark
  reset first (/proc/self/clear_refs). Baseline: the same rows through openpyxl's default
  (in-memory) workbook. Also the CSV export's peak RSS growth.

Targets: statistics <= 0.5 s; export peak RSS growth <= 50 MB. Prints a markdown table.
Only 127.0.0.1 is used; the private redis-server started here is stopped on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openpyxl import Workbook  # noqa: E402

from room import keys  # noqa: E402
from room.audience import exports as xp  # noqa: E402
from room.audience import sessions  # noqa: E402
from room.audience.sessions import SessionKind, SessionRecord  # noqa: E402
from room.audience.stats import Statistics, event_stats  # noqa: E402
from room.records import Event  # noqa: E402
from room.store import Store  # noqa: E402
from room.store_memory import MemoryStore  # noqa: E402
from room.store_redis import RedisStore  # noqa: E402

EVENT_ID = "ev_bench"
START = 1_700_000_000.0
LIVE = 2 * 3600.0
MB = 1024 * 1024


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def proc_status(field: str) -> int:
    """A /proc/self/status figure in bytes (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def records(n: int, identities: int, seed: int = 5) -> list[SessionRecord]:
    """n sessions over `identities` people: most watch live in several visits (reconnects,
    some overlapping a second tab), a tenth come back for the replay after the event."""
    rnd = random.Random(seed)
    langs = ["fr", "en", "de", "es", "it", "nl", ""]
    out = []
    for i in range(n):
        ident = f"inv_{i % identities:06d}"
        replay = rnd.random() < 0.1
        if replay:
            start = START + LIVE + rnd.uniform(0, 7 * 86400)
        else:
            start = START + rnd.uniform(0, LIVE - 60)
        end = start + rnd.expovariate(1 / 600)
        if not replay:
            end = min(end, START + LIVE)
        out.append(
            SessionRecord(
                id=f"ses_{i:08d}",
                identity=ident,
                name=f"Person {i % identities}",
                email=f"person{i % identities}@example.org",
                ip=f"10.{i % 200}.{(i // 200) % 250}.{i % 250}",
                language=langs[(i % identities) % len(langs)],
                country="",
                start=start,
                end=end,
                format=SessionKind.REPLAY if replay else SessionKind.LIVE,
            )
        )
    return out


async def fill(store: Store, recs: list[SessionRecord], batch: int) -> float:
    """Write closed sessions with the store calls the recorder's open and close end in:
    the record under its id, its id on the event's order list, its visit on the visits list."""
    started = time.perf_counter()

    async def one(r: SessionRecord) -> None:
        assert r.end is not None
        visit = sessions.Visit(r.identity, r.start, r.end, r.format, r.language, r.country)
        await store.hset(keys.sessions(EVENT_ID), r.id, sessions._enc.encode(r))
        await store.rpush(keys.session_order(EVENT_ID), r.id.encode())
        await store.rpush(keys.visits(EVENT_ID), sessions._enc.encode(visit))

    for i in range(0, len(recs), batch):
        await asyncio.gather(*(one(r) for r in recs[i : i + batch]))
    return time.perf_counter() - started


def event() -> Event:
    return Event(
        id=EVENT_ID,
        account_id="acc_bench",
        title="Bench",
        started_at=START,
        ended_at=START + LIVE,
        created=START - 86400,
    )


async def time_it(fn: Callable[[], Any], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        gc.collect()
        t = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - t)
    return out


async def measure(store: Store, n: int, identities: int, name: str) -> dict[str, Any]:
    log(f"{name}: writing {n} sessions of {identities} identities")
    recs = records(n, identities)
    fill_s = await fill(store, recs, batch=500)
    del recs
    gc.collect()
    ev = event()
    at = START + LIVE + 8 * 86400

    async def stats_once() -> Statistics:
        return await event_stats(store, ev, geo=False, at=at)

    first = await stats_once()
    assert first.visitors == identities, first.visitors
    times = await time_it(stats_once, 5)

    async def load_only() -> None:
        await sessions.visits(store, EVENT_ID)

    load_times = await time_it(load_only, 3)
    tracemalloc.start()
    await stats_once()
    _, stats_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    log(f"{name}: statistics median {statistics.median(times):.3f} s, worst {max(times):.3f} s")

    result: dict[str, Any] = {
        "fill_s": fill_s,
        "visitors": first.visitors,
        "peak": first.peak.count,
        "stats_median": statistics.median(times),
        "stats_worst": max(times),
        "load_median": statistics.median(load_times),
        "stats_peak_mb": stats_peak / MB,
    }
    return result


def trim() -> None:
    """Give freed heap back to the system, so RSS growth is the export's own."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


async def export_child(mode: str, n: int, identities: int, redis_url: str | None) -> None:
    """In a fresh process: fill a store, then export its sessions once; print JSON."""
    store: Store = RedisStore(redis_url) if redis_url else MemoryStore(None)
    await store.start()
    try:
        if redis_url is None:
            await fill(store, records(n, identities), batch=500)
        ev = event()
        at = START + LIVE + 8 * 86400
        table = xp.sessions_table(store, ev, at)
        with tempfile.TemporaryDirectory(prefix="tribune-bench-") as tmp:
            path = Path(tmp) / "export.xlsx"
            trim()
            rss_before = proc_status("VmRSS")
            can_reset = reset_peak_rss()
            t = time.perf_counter()
            size = 0
            if mode == "xlsx":
                await xp.write_xlsx(table, path)
                size = path.stat().st_size
            elif mode == "csv":
                async for chunk in xp.csv_chunks(table):
                    size += len(chunk)
            else:  # baseline: openpyxl's default workbook, every row in memory
                wb = Workbook()
                ws = wb.active
                ws.append([c.name for c in table.columns])
                async for page in table.rows:
                    for row in page:
                        ws.append(xp._xlsx_cells(ws, row, [c.kind for c in table.columns]))
                wb.save(path)
                size = path.stat().st_size
            elapsed = time.perf_counter() - t
            grown = (proc_status("VmHWM") - rss_before) / MB if can_reset else None
    finally:
        await store.close()
    print(json.dumps({"s": elapsed, "rss_mb": grown, "size_mb": size / MB}))


def run_child(mode: str, n: int, identities: int, redis_url: str | None) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--export-child",
        mode,
        "--sessions",
        str(n),
        "--identities",
        str(identities),
    ]
    if redis_url:
        cmd += ["--redis-url", redis_url]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=900)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


class PrivateRedis:
    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.dir = tempfile.mkdtemp(prefix="tribune-bench-redis-")

    def start(self) -> str | None:
        exe = shutil.which("redis-server")
        if exe is None:
            return None
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return f"redis://127.0.0.1:{port}/0"
            time.sleep(0.05)
        self.stop()
        return None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def fmt(value: float | None, unit: str, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} {unit}"


async def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--sessions", type=int, default=100_000)
    p.add_argument("--identities", type=int, default=10_000)
    p.add_argument("--no-redis", action="store_true")
    p.add_argument("--export-child", choices=["xlsx", "csv", "baseline"], help=argparse.SUPPRESS)
    p.add_argument("--redis-url", help=argparse.SUPPRESS)
    args = p.parse_args()
    n, ids = args.sessions, args.identities
    if args.export_child:
        await export_child(args.export_child, n, ids, args.redis_url)
        return 0

    results: dict[str, dict[str, Any]] = {}
    memory = MemoryStore(None)
    results["memory"] = await measure(memory, n, ids, "memory")
    del memory
    gc.collect()
    exports = {mode: run_child(mode, n, ids, None) for mode in ("xlsx", "csv", "baseline")}
    baseline = exports.pop("baseline")
    for mode, figures in exports.items():
        results["memory"].update({f"{mode}_{k}": v for k, v in figures.items()})
    log(
        f"memory: xlsx export {results['memory']['xlsx_s']:.1f} s, "
        f"peak RSS growth {fmt(results['memory']['xlsx_rss_mb'], 'MB', 1)}"
    )

    redis = PrivateRedis()
    try:
        url = None if args.no_redis else redis.start()
        if url:
            store = RedisStore(url)
            await store.start()
            try:
                results["redis"] = await measure(store, n, ids, "redis")
            finally:
                await store.close()
            for mode in ("xlsx", "csv"):
                figures = run_child(mode, n, ids, url)
                results["redis"].update({f"{mode}_{k}": v for k, v in figures.items()})
        elif not args.no_redis:
            log("redis-server not found: memory store only")
    finally:
        redis.stop()

    cols = list(results)
    print()
    print(
        f"Statistics and exports over {n:,} sessions of {ids:,} identities "
        f"({os.cpu_count()} CPU, Python {sys.version.split()[0]})"
    )
    print()
    print("| measure | " + " | ".join(f"{c} store" for c in cols) + " | target | baseline |")
    print("|---|" + "---|" * len(cols) + "---|---|")

    def row(label: str, key: str, unit: str, target: str = "", base: str = "", dp: int = 1) -> None:
        cells = " | ".join(fmt(results[c].get(key), unit, dp) for c in cols)
        print(f"| {label} | {cells} | {target} | {base} |")

    load = " / ".join(fmt(results[c]["load_median"], "s", 3) for c in cols)
    row("statistics, median of 5", "stats_median", "s", "≤ 0.5 s", f"read + decode only: {load}", 3)
    row("statistics, worst of 5", "stats_worst", "s", "≤ 0.5 s", "", 3)
    row("statistics, peak Python allocation", "stats_peak_mb", "MB")
    row(
        "XLSX export of the sessions, time",
        "xlsx_s",
        "s",
        "",
        f"openpyxl in memory: {baseline['s']:.1f} s",
    )
    row(
        "XLSX export, peak RSS growth",
        "xlsx_rss_mb",
        "MB",
        "≤ 50 MB",
        f"openpyxl in memory: {fmt(baseline['rss_mb'], 'MB', 1)}",
    )
    row("XLSX file size", "xlsx_size_mb", "MB")
    row("CSV export, time", "csv_s", "s")
    row("CSV export, peak RSS growth", "csv_rss_mb", "MB")
    print()
    ok = all(
        r["stats_median"] <= 0.5 and (r["xlsx_rss_mb"] is None or r["xlsx_rss_mb"] <= 50)
        for r in results.values()
    )
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
