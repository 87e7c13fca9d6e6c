"""Moderation benchmark: questions flowing to 3 moderators and pushes reaching the second screen.

    .venv/bin/python bench/moderation.py            # 1,000 participants, 50 questions/s for 20 s
    .venv/bin/python bench/moderation.py --quick    # 200 participants, 5 s
    .venv/bin/python bench/moderation.py --no-baseline

A real `tribune serve` (embedded memory store) runs in its own process; this process
is the load generator: python-socketio clients over the websocket transport (msgpack),
N participants on `/room`, 3 moderators on `/manage` (organizer, presenter,
collaborator) and one second screen on `/screen`. Participants ask `rate` questions/s
for `seconds` s (each participant asks at most a few, well inside the per-participant
limit) while the moderators push one question to the screen every 100 ms, in turn, and
mark the oldest one answered once more than 5 are on it.

Measured, all on this process's clock:
- submit -> visible on manager: from a participant's `question.ask` emit to each
  moderator's first `question.changed` carrying that question (3 samples per question);
- push -> visible on screen: from a moderator's `question.push` emit to the screen's
  `question.changed` showing it;
- server CPU: utime+stime of the server process over the load window / wall time
  (100 % = one core).

Baseline, measured in the same run with the same clients: a bare python-socketio
server (same stack: aiohttp, msgpack, uvloop) that only acks and relays the same
events to the same rooms, with no store, no validation, no permissions, no audit.
With taskset and 2+ CPUs the server runs on CPU 0 and this process on CPU 1. Every
process started here is stopped on exit; the run is bounded by --budget seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import socketio

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import HOST, free_port, http, wait_ready  # noqa: E402

TARGET_P99_MS = 200.0

_procs: list[subprocess.Popen[Any]] = []


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- processes ---------------------------------------------------------------------------------


def spawn(cmd: list[str], cpu: int | None, **kw: Any) -> subprocess.Popen[Any]:
    if cpu is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(cpu), *cmd]
    proc = subprocess.Popen(cmd, start_new_session=True, cwd=ROOT, **kw)
    _procs.append(proc)
    return proc


def stop(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM the process group this script started, SIGKILL it if it lingers."""
    if proc.poll() is None:
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
    if proc in _procs:
        _procs.remove(proc)


def stop_all() -> None:
    for proc in list(_procs):
        try:
            stop(proc)
        except Exception as exc:
            log(f"could not stop {proc.pid}: {exc}")




@dataclass
class Running:
    proc: subprocess.Popen[Any]
    url: str
    tokens: dict[str, str]
    cleanup: list[Any] = field(default_factory=list)


def start_tribune(cpu: int | None, participants: int, visibility: str) -> Running:
    data = tempfile.mkdtemp(prefix="tribune-bench-mod-")
    tribune = str(VENV_BIN / "tribune")
    out = subprocess.run(
        [
            tribune,
            "account",
            "create",
            "Bench",
            "--attendees",
            str(participants + 100),
            "--json",
            "--data-dir",
            data,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    key = json.loads(out.stdout.strip().splitlines()[-1])["api_key"]
    port = free_port()
    cmd = [
        tribune,
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--data-dir",
        data,
        "--log-level",
        "WARNING",
    ]
    proc = spawn(cmd, cpu, stdout=subprocess.DEVNULL)
    url = f"http://{HOST}:{port}"
    run = Running(proc, url, {}, [lambda: shutil.rmtree(data, ignore_errors=True)])
    try:
        wait_ready(proc, url + "/healthz")
        event = http(
            "POST",
            url + "/api/v1/events",
            {
                "title": "Moderation bench",
                "capacity": participants + 100,
                "settings": {"question_visibility": visibility},
            },
            key,
        )
        invs = url + f"/api/v1/events/{event['id']}/invitations"
        for role, name, shared in [
            ("participant", "", True),
            ("screen", "", True),
            ("organizer", "Olga", False),
            ("presenter", "Piet", False),
            ("collaborator", "Cleo", False),
        ]:
            run.tokens[role] = http(
                "POST", invs, {"role": role, "name": name, "shared": shared}, key
            )["token"]
    except BaseException:
        stop(proc)
        raise
    return run


def start_baseline(cpu: int | None, visibility: str) -> Running:
    port = free_port()
    cmd = [sys.executable, __file__, "--serve-baseline", str(port), "--visibility", visibility]
    proc = spawn(cmd, cpu)
    url = f"http://{HOST}:{port}"
    wait_ready(proc, url + "/healthz")
    tokens = {r: r for r in ("participant", "screen", "organizer", "presenter", "collaborator")}
    return Running(proc, url, tokens)


# -- the baseline server: a bare python-socketio relay ---------------------------------------------


def serve_baseline(port: int, visibility: str) -> None:
    from aiohttp import web

    sio = socketio.AsyncServer(
        async_mode="aiohttp", serializer="msgpack", ping_interval=20, ping_timeout=20
    )
    app = web.Application()
    sio.attach(app)
    state = {"rev": 0, "seq": 0}
    questions: dict[str, dict[str, Any]] = {}

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/healthz", healthz)

    def connect_for(ns: str) -> Any:
        async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
            await sio.enter_room(sid, "ev", namespace=ns)

        return connect

    for ns in ("/room", "/manage", "/screen"):
        sio.on("connect", connect_for(ns), namespace=ns)

    async def changed(q: dict[str, Any], screen: bool) -> None:
        state["rev"] += 1
        payload = {"id": q["id"], "question": q, "rev": state["rev"]}
        await sio.emit("question.changed", payload, room="ev", namespace="/manage")
        if screen:
            await sio.emit("question.changed", payload, room="ev", namespace="/screen")
        if visibility == "all":
            await sio.emit("question.changed", payload, room="ev", namespace="/room")

    async def ask(sid: str, data: Any) -> dict[str, Any]:
        q = {
            "id": "q_" + secrets.token_urlsafe(6),
            "text": str(data.get("text", ""))[:500],
            "pushed": None,
            "answered": False,
            "hidden": False,
            "created": time.time(),
        }
        questions[q["id"]] = q
        await changed(q, screen=False)
        await sio.emit("question.mine", {"id": q["id"], "question": q}, to=sid, namespace="/room")
        return {"ok": True, "question": q}

    async def push(sid: str, data: Any) -> dict[str, Any]:
        q = questions[data["id"]]
        state["seq"] += 1
        q["pushed"] = state["seq"]
        await changed(q, screen=True)
        return {"ok": True, "question": q}

    async def answered(sid: str, data: Any) -> dict[str, Any]:
        q = questions[data["id"]]
        q["answered"] = True
        await changed(q, screen=True)
        return {"ok": True, "question": q}

    sio.on("question.ask", ask, namespace="/room")
    sio.on("question.push", push, namespace="/manage")
    sio.on("question.answered", answered, namespace="/manage")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    web.run_app(app, host=HOST, port=port, print=None, access_log=None)


# -- the load generator -------------------------------------------------------------------------------


def pct(data: list[float], p: float) -> float:
    if not data:
        return float("nan")
    s = sorted(data)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


@dataclass
class Measure:
    asked: dict[str, float] = field(default_factory=dict)  # text -> emit time
    ack_ms: list[float] = field(default_factory=list)
    visible_ms: list[float] = field(default_factory=list)  # submit -> each moderator
    pushed_at: dict[str, float] = field(default_factory=dict)  # id -> push emit time
    screen_ms: list[float] = field(default_factory=list)
    seen: list[dict[str, float]] = field(default_factory=list)  # per moderator: id -> time
    on_screen: dict[str, int] = field(default_factory=dict)  # id -> push seq, as the screen shows
    screened: set[str] = field(default_factory=set)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, ack: Any) -> None:
        code = ack["error"]["code"] if isinstance(ack, dict) and "error" in ack else "timeout"
        self.errors[code] = self.errors.get(code, 0) + 1


def client() -> socketio.AsyncClient:
    return socketio.AsyncClient(serializer="msgpack", reconnection=False)


async def connect(c: socketio.AsyncClient, url: str, ns: str, token: str, name: str) -> None:
    auth = {"token": token, "device": secrets.token_hex(8), "name": name}
    await c.connect(url, namespaces=[ns], auth=auth, transports=["websocket"], wait_timeout=60)


async def run_load(run: Running, n: int, rate: float, seconds: float, label: str) -> dict[str, Any]:
    m = Measure()
    mods: list[socketio.AsyncClient] = []
    for i, role in enumerate(("organizer", "presenter", "collaborator")):
        c = client()
        seen: dict[str, float] = {}
        m.seen.append(seen)

        def on_changed(d: Any, seen: dict[str, float] = seen) -> None:
            t = time.perf_counter()
            q = d.get("question")
            if q is None or d["id"] in seen:
                return
            seen[d["id"]] = t
            t0 = m.asked.get(q["text"])
            if t0 is not None:
                m.visible_ms.append((t - t0) * 1000)

        c.on("question.changed", on_changed, namespace="/manage")
        await connect(c, run.url, "/manage", run.tokens[role], f"mod{i}")
        mods.append(c)
    screen = client()

    def on_screen(d: Any) -> None:
        t = time.perf_counter()
        q = d.get("question")
        qid = d["id"]
        if q and q.get("pushed") is not None and not q.get("answered") and not q.get("hidden"):
            m.on_screen[qid] = q["pushed"]
            t0 = m.pushed_at.get(qid)
            if t0 is not None and qid not in m.screened:
                m.screened.add(qid)
                m.screen_ms.append((t - t0) * 1000)
        else:
            m.on_screen.pop(qid, None)

    screen.on("question.changed", on_screen, namespace="/screen")
    await connect(screen, run.url, "/screen", run.tokens["screen"], "screen")

    log(f"{label}: connecting {n} participants")
    people: list[socketio.AsyncClient] = [client() for _ in range(n)]
    sem = asyncio.Semaphore(50)

    async def join(i: int) -> None:
        async with sem:
            await connect(people[i], run.url, "/room", run.tokens["participant"], f"P{i}")

    t_join = time.perf_counter()
    await asyncio.gather(*(join(i) for i in range(n)))
    join_s = time.perf_counter() - t_join
    log(f"{label}: {n} joined in {join_s:.1f} s; settling")
    await asyncio.sleep(3)

    server = _the_python(psutil.Process(run.proc.pid))
    pending: set[asyncio.Task[Any]] = set()

    async def ask(k: int) -> None:
        text = f"Bench question {k}: how does this scale?"
        p = people[k % n]
        m.asked[text] = time.perf_counter()
        try:
            ack = await p.call("question.ask", {"text": text}, namespace="/room", timeout=30)
        except Exception as exc:  # a dropped connection or a timeout: count it, go on
            ack = {"error": {"code": type(exc).__name__}}
        if ack.get("ok"):
            m.ack_ms.append((time.perf_counter() - m.asked[text]) * 1000)
        else:
            m.error(ack)

    async def moderate(stop_at: float) -> None:
        turn = 0
        pushed: set[str] = set()
        while time.perf_counter() < stop_at:
            await asyncio.sleep(0.1)
            mod = mods[turn % len(mods)]
            turn += 1
            fresh = [(t, q) for q, t in m.seen[0].items() if q not in pushed]
            if fresh:
                _, qid = max(fresh)
                pushed.add(qid)
                m.pushed_at[qid] = time.perf_counter()
                task = asyncio.ensure_future(
                    mod.call("question.push", {"id": qid}, namespace="/manage", timeout=30)
                )
                pending.add(task)
                task.add_done_callback(pending.discard)
            if len(m.on_screen) > 5:
                oldest = min(m.on_screen, key=lambda q: m.on_screen[q])
                m.on_screen.pop(oldest)
                task = asyncio.ensure_future(
                    mod.call("question.answered", {"id": oldest}, namespace="/manage", timeout=30)
                )
                pending.add(task)
                task.add_done_callback(pending.discard)

    total = int(rate * seconds)
    await asyncio.to_thread(wait_quiet, label)
    log(f"{label}: {total} questions at {rate:g}/s for {seconds:g} s while moderating")
    me = psutil.Process()
    cpu0, mine0, all0 = server.cpu_times(), me.cpu_times(), busy_seconds()
    t0 = time.perf_counter()
    mod_task = asyncio.ensure_future(moderate(t0 + seconds))
    for k in range(total):
        delay = t0 + k / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.ensure_future(ask(k))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await mod_task
    wall = time.perf_counter() - t0
    cpu1, mine1, all1 = server.cpu_times(), me.cpu_times(), busy_seconds()
    server_s = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    mine_s = (mine1.user - mine0.user) + (mine1.system - mine0.system)
    cpu_pct = 100 * server_s / wall
    other_pct = max(0.0, 100 * (all1 - all0 - server_s - mine_s) / wall)
    rss_mb = server.memory_info().rss / 2**20
    # drain: everything asked must reach every moderator
    for _ in range(150):  # at most 15 s
        if not pending and all(len(s) >= total for s in m.seen):
            break
        await asyncio.sleep(0.1)
    for task in list(pending):
        task.cancel()
    complete = min(len(s) for s in m.seen)
    log(f"{label}: done; disconnecting")
    sem2 = asyncio.Semaphore(100)

    async def close(c: socketio.AsyncClient) -> None:
        async with sem2:
            try:
                await c.disconnect()
            except Exception:
                pass

    await asyncio.gather(*(close(c) for c in [*people, *mods, screen]))
    return {
        "label": label,
        "participants": n,
        "join_s": join_s,
        "questions": total,
        "complete": complete,
        "visible_p50": pct(m.visible_ms, 50),
        "visible_p99": pct(m.visible_ms, 99),
        "visible_n": len(m.visible_ms),
        "screen_p50": pct(m.screen_ms, 50),
        "screen_p99": pct(m.screen_ms, 99),
        "screen_n": len(m.screen_ms),
        "ack_p50": pct(m.ack_ms, 50),
        "ack_p99": pct(m.ack_ms, 99),
        "cpu_pct": cpu_pct,
        "client_pct": 100 * mine_s / wall,
        "other_pct": other_pct,
        "rss_mb": rss_mb,
        "errors": dict(m.errors),
    }


def busy_seconds() -> float:
    """CPU seconds the whole machine spent busy so far (all processes, all CPUs)."""
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0))


def wait_quiet(label: str, limit_s: float = 60.0, threshold: float = 15.0) -> None:
    """Wait (bounded) until other work on the machine stops, so it does not skew latencies.
    Blocking: call it in a thread while clients are connected."""
    deadline = time.monotonic() + limit_s
    while True:
        busy = psutil.cpu_percent(interval=1.0)
        if busy < threshold or time.monotonic() > deadline:
            if busy >= threshold:
                log(f"{label}: machine still {busy:.0f}% busy; measuring anyway (see the table)")
            return
        log(f"{label}: machine {busy:.0f}% busy with other work; waiting")


def _the_python(proc: psutil.Process) -> psutil.Process:
    """The server's own process: taskset execs it in place, so usually `proc` itself."""
    if "python" in proc.name() or "tribune" in " ".join(proc.cmdline()):
        return proc
    for child in proc.children(recursive=True):
        if "python" in child.name():
            return child
    return proc


def fmt(x: float, digits: int = 1) -> str:
    return "n/a" if x != x else f"{x:.{digits}f}"


def table(results: list[dict[str, Any]]) -> str:
    cols = " | ".join(r["label"] for r in results)
    lines = [f"| measure | {cols} |", "|---" * (len(results) + 1) + "|"]

    def row(name: str, fn: Any) -> None:
        lines.append(f"| {name} | " + " | ".join(fn(r) for r in results) + " |")

    row(
        "participants connected / join time (s)",
        lambda r: f"{r['participants']} / {fmt(r['join_s'])}",
    )
    row(
        "questions asked / seen by all 3 moderators",
        lambda r: f"{r['questions']} / {r['complete']}",
    )
    row(
        "submit → visible on manager, p50 / p99 (ms)",
        lambda r: f"{fmt(r['visible_p50'])} / {fmt(r['visible_p99'])} (n={r['visible_n']})",
    )
    row(
        "push → visible on screen, p50 / p99 (ms)",
        lambda r: f"{fmt(r['screen_p50'])} / {fmt(r['screen_p99'])} (n={r['screen_n']})",
    )
    row("submit → ack, p50 / p99 (ms)", lambda r: f"{fmt(r['ack_p50'])} / {fmt(r['ack_p99'])}")
    row("server CPU during load (% of one core)", lambda r: fmt(r["cpu_pct"], 0))
    row(
        "load generator / other processes CPU (% of one core)",
        lambda r: f"{fmt(r['client_pct'], 0)} / {fmt(r['other_pct'], 0)}",
    )
    row("server RSS after load (MiB)", lambda r: fmt(r["rss_mb"], 0))
    row("refused acks", lambda r: ", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or "none")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> int:
    cpus = os.cpu_count() or 1
    pin = cpus >= 2 and shutil.which("taskset") is not None
    if pin:
        os.sched_setaffinity(0, {1})
    results = []
    cpu = 0 if pin else None
    for label, start in [
        ("Tribune", lambda: start_tribune(cpu, args.participants, args.visibility)),
        ("bare python-socketio", lambda: start_baseline(cpu, args.visibility)),
    ]:
        if label != "Tribune" and args.no_baseline:
            continue
        wait_quiet(label)
        run = start()
        try:
            results.append(
                await asyncio.wait_for(
                    run_load(run, args.participants, args.rate, args.seconds, label),
                    timeout=args.budget,
                )
            )
        finally:
            stop(run.proc)
            for fn in run.cleanup:
                fn()
    tribune = results[0]
    ok = (
        tribune["visible_p99"] <= TARGET_P99_MS
        and tribune["screen_p99"] <= TARGET_P99_MS
        and tribune["complete"] == tribune["questions"]
    )
    print(
        f"\n### Moderation benchmark ({platform.node()}, {cpus} CPUs, "
        f"{'server on CPU 0, clients on CPU 1' if pin else 'no CPU pinning'}; "
        f"{args.participants} participants + 3 moderators + 1 screen, "
        f"{args.rate:g} questions/s for {args.seconds:g} s, question visibility "
        f"`{args.visibility}`, websocket, msgpack)\n"
    )
    print(table(results))
    print(
        f"\nTarget p99 ≤ {TARGET_P99_MS:.0f} ms (submit→manager and push→screen): "
        f"{'met' if ok else 'NOT met'}"
    )
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--participants", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=50.0, help="questions per second")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--quick", action="store_true", help="200 participants, 5 s")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument(
        "--visibility",
        choices=["none", "approved", "all"],
        default="none",
        help="the event's question visibility: `all` sends every question to "
        "every participant too (the default, `none`, is the product default)",
    )
    ap.add_argument("--budget", type=float, default=240.0, help="seconds per server run")
    ap.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline, args.visibility)
        return 0
    if args.quick:
        args.participants, args.seconds = 200, 5.0
    atexit.register(stop_all)

    def on_signal(signum: int, frame: Any) -> None:
        stop_all()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
