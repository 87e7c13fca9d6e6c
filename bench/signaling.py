"""Signaling benchmark: Tribune against a bare python-socketio server and Node's socket.io.

    .venv/bin/python bench/signaling.py            # N=1000 attendees, about 4 minutes
    .venv/bin/python bench/signaling.py --quick    # N=200, one run each, about 1 minute
    .venv/bin/python bench/signaling.py --profile  # also py-spy Tribune (pip install py-spy)
    .venv/bin/python bench/signaling.py -n 5000 --rate 20 --only tribune,node --repeat 1
        # open loop: 20 broadcasts/s to 5,000 attendees; does the server keep up?

Every server is measured with the same Node load generator (bench/signaling_load.js:
socket.io-client 4.8 + socket.io-msgpack-parser, websocket transport) in its own process:
N attendees join one event (joins/s, connect -> first `room.state`, 50 in flight), then
2 x `cycles` fan-outs of `hand.queue` to everyone (an attendee's `hand.raise`, then the
organizer's `hand.next`), each started only when the previous one reached every client.
The load generator reads the server's /proc/PID/status and /proc/PID/stat at the phase
boundaries:

- RSS per attendee = (VmRSS 2 s after the last join - VmRSS before the first) / N;
- CPU us per delivery = server utime+stime over the fan-out phase / messages received;
- CPU ms per join = server utime+stime over the join phase / N.

Scenarios: the three servers with a client that does not offer permessage-deflate (so all
serve uncompressed), then with a browser-like client that offers it (Node's `ws` with
`perMessageDeflate`, what socket.io-client does by default in Node), including Tribune
with `--ws-compression` and the bare python-socketio server, which accepts it. All
scenarios run in turn, `--repeat` times, and each figure is the median over the repeats.

With taskset and 2+ CPUs, every server runs on CPU 0 and the load generator on CPU 1.
This machine is shared: before each run the bench waits (--quiet-wait) for other
processes to calm down, measures how much CPU they took during the run ("other load"),
and measures a run again (--retries) when they took more than a quarter of a core.
Only 127.0.0.1 is used. Every process started here is stopped on exit, also on failure;
the whole run is bounded by --budget seconds (then it reports what it has).
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LOADGEN = BENCH / "signaling_load.js"
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import HOST, free_port, http, wait_ready  # noqa: E402

_procs: list[subprocess.Popen[Any]] = []


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- processes ---------------------------------------------------------------------------


def spawn(cmd: list[str], cpu: int | None, **kw: Any) -> subprocess.Popen[Any]:
    """Start `cmd` in its own process group (pinned to `cpu` when asked) and remember it."""
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    proc = subprocess.Popen(cmd, start_new_session=True, cwd=ROOT, **kw)
    _procs.append(proc)
    return proc


def stop(proc: subprocess.Popen[Any], timeout: float = 5.0) -> None:
    """SIGTERM the process group we started, then SIGKILL it if it lingers."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout)
    if proc in _procs:
        _procs.remove(proc)


def stop_all() -> None:
    for proc in list(_procs):
        try:
            stop(proc, timeout=3)
        except Exception as exc:  # keep going: every process must be stopped
            log(f"could not stop {proc.pid}: {exc}")




# -- servers -----------------------------------------------------------------------------


@dataclass
class Running:
    proc: subprocess.Popen[Any]
    url: str
    control_token: str = "control"
    participant_token: str = "participant"
    cleanup: list[Callable[[], None]] = field(default_factory=list)


def start_tribune(cpu: int | None, compression: bool = False) -> Running:
    data = tempfile.mkdtemp(prefix="tribune-bench-")
    tribune = str(VENV_BIN / "tribune")
    out = subprocess.run(
        [
            tribune,
            "account",
            "create",
            "Bench",
            "--attendees",
            "5000",
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
    cmd = [tribune, "serve", "--host", HOST, "--port", str(port), "--data-dir", data]
    cmd += ["--log-level", "WARNING"] + (["--ws-compression"] if compression else [])
    proc = spawn(cmd, cpu, stdout=subprocess.DEVNULL)
    url = f"http://{HOST}:{port}"
    run = Running(proc, url, cleanup=[lambda: shutil.rmtree(data, ignore_errors=True)])
    try:
        wait_ready(proc, url + "/healthz")
        event = http(
            "POST", url + "/api/v1/events", {"title": "Signaling bench", "capacity": 5000}, key
        )
        invs = url + f"/api/v1/events/{event['id']}/invitations"
        run.participant_token = http("POST", invs, {"role": "participant", "shared": True}, key)[
            "token"
        ]
        run.control_token = http(
            "POST", invs, {"role": "organizer", "name": "Bench Organizer"}, key
        )["token"]
    except BaseException:
        stop(proc)
        raise
    return run


def start_sio(cpu: int | None) -> Running:
    port = free_port()
    proc = spawn([sys.executable, str(BENCH / "baseline_sio.py"), "--port", str(port)], cpu)
    url = f"http://{HOST}:{port}"
    wait_ready(proc, url + "/healthz")
    return Running(proc, url)


def start_node(cpu: int | None) -> Running:
    port = free_port()
    node = shutil.which("node") or "node"
    proc = spawn(
        [node, str(BENCH / "baseline_node.js"), "--port", str(port)], cpu, stdout=subprocess.DEVNULL
    )
    url = f"http://{HOST}:{port}"
    wait_ready(proc, url + "/healthz")
    return Running(proc, url)


@dataclass
class Scenario:
    name: str
    label: str
    start: Callable[[int | None], Running]
    deflate: bool
    """The client offers permessage-deflate, as browsers do."""


SCENARIOS = [
    Scenario("tribune", "Tribune", start_tribune, False),
    Scenario("sio", "bare python-socketio", start_sio, False),
    Scenario("node", "Node socket.io 4.8", start_node, False),
    Scenario("tribune-df", "Tribune", start_tribune, True),
    Scenario("tribune-wsc-df", "Tribune --ws-compression", lambda c: start_tribune(c, True), True),
    Scenario("sio-df", "bare python-socketio", start_sio, True),
    Scenario("node-df", "Node socket.io 4.8", start_node, True),
]


# -- one measurement ---------------------------------------------------------------------


def run_loadgen(
    run: Running,
    cfg: dict[str, Any],
    cpu: int | None,
    on_line: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    node = shutil.which("node") or "node"
    cfg = dict(cfg, url=run.url, control_token=run.control_token)
    cfg.update(participant_token=run.participant_token, server_pid=run.proc.pid)
    proc = spawn(
        [node, str(LOADGEN), json.dumps(cfg)],
        cpu,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout: list[str] = []

    def pump_err() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            sys.stderr.write("    " + line)
            sys.stderr.flush()
            if on_line:
                on_line(line)

    def pump_out() -> None:
        assert proc.stdout is not None
        stdout.extend(proc.stdout)

    readers = [threading.Thread(target=fn, daemon=True) for fn in (pump_err, pump_out)]
    for t in readers:
        t.start()
    try:
        proc.wait(timeout=cfg["deadline_ms"] / 1000 + 30)
    finally:
        stop(proc)
    for t in readers:
        t.join(timeout=5)
    lines = [ln for ln in stdout if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"load generator exited {proc.returncode} without a result")
    result: dict[str, Any] = json.loads(lines[-1])
    if "error" in result:
        raise RuntimeError(f"load generator failed: {result['error']}")
    return result


def machine_busy() -> float:
    """Cores busy over the next second, from /proc/stat."""

    def sample() -> float:
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / os.sysconf("SC_CLK_TCK")

    a = sample()
    time.sleep(1)
    return sample() - a


def wait_quiet(limit_s: float, threshold: float = 0.2) -> float:
    """This machine is shared: wait (at most `limit_s`) until other work is below `threshold`
    cores before a measurement. Returns the last reading."""
    deadline = time.monotonic() + limit_s
    busy = machine_busy()
    while busy > threshold and time.monotonic() < deadline:
        log(f"machine busy ({busy:.2f} cores in use by other processes); waiting")
        time.sleep(2)
        busy = machine_busy()
    return busy


def measure(sc: Scenario, cfg: dict[str, Any], pin: bool, quiet_s: float = 0) -> dict[str, Any]:
    if quiet_s:
        wait_quiet(quiet_s)
    log(f"== {sc.name}: {sc.label}, client offers deflate: {sc.deflate}")
    run = sc.start(0 if pin else None)
    try:
        res = run_loadgen(run, dict(cfg, deflate=sc.deflate), 1 if pin else None)
        if run.proc.poll() is not None:
            raise RuntimeError(f"{sc.name} server died during the run ({run.proc.returncode})")
        return res
    finally:
        stop(run.proc)
        for fn in run.cleanup:
            fn()


def profile_tribune(cfg: dict[str, Any], pin: bool, out_dir: Path) -> dict[str, Path]:
    """Run Tribune once more under py-spy, sampling the join phase and the fan-out phase
    into separate files (not used for the figures: sampling perturbs the server)."""
    pyspy = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    if not Path(pyspy).exists():
        log("py-spy not found (.venv/bin/pip install py-spy); skipping the profile")
        return {}
    run = start_tribune(0 if pin else None)
    files = {
        "joins": out_dir / "tribune-joins.pyspy.txt",
        "fan-out": out_dir / "tribune-fanout.pyspy.txt",
    }
    spies: dict[str, subprocess.Popen[Any]] = {}

    def record(phase: str) -> None:
        cmd = [pyspy, "record", "--nonblocking", "--rate", "500", "--format", "raw"]
        cmd += ["-o", str(files[phase]), "-p", str(run.proc.pid)]
        spies[phase] = spawn(
            cmd, 1 if pin else None, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def finish(phase: str) -> None:
        if phase in spies and spies[phase].poll() is None:
            spies[phase].send_signal(signal.SIGINT)

    def on_line(line: str) -> None:
        if "joining" in line:
            record("joins")
        elif " joined in " in line:
            finish("joins")
        elif "fan-out:" in line:
            record("fan-out")
        elif "fan-out to all" in line:
            finish("fan-out")

    try:
        run_loadgen(run, dict(cfg, deflate=False, phase_pause_ms=1500), 1 if pin else None, on_line)
        for spy in spies.values():
            try:
                spy.wait(20)
            except subprocess.TimeoutExpired:
                pass
    finally:
        for spy in list(spies.values()):
            stop(spy)
        stop(run.proc)
        for fn in run.cleanup:
            fn()
    return {phase: f for phase, f in files.items() if f.exists()}


def _frame(f: str) -> str:
    """`handler (/x/y/signaling/socket/hub.py:123)` -> `handler (signaling/socket/hub.py)`."""
    m = re.match(r"^(.*) \((.*?)(?::\d+)?\)$", f)
    if not m:
        return f
    path = m.group(2)
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{m.group(1)} ({path})"


def summarize_profile(raw: Path, phase: str, top: int = 25) -> str:
    """Self and inclusive sample shares from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [_frame(f) for f in stack.split(";")]
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    if not total:
        return "(no samples)"
    rows = [f"{total} samples during the {phase} phase", "", "self %  function"]
    rows += [f"{100 * n / total:6.1f}  {f}" for f, n in own.most_common(top)]
    rows += ["", "incl %  function"]
    rows += [f"{100 * n / total:6.1f}  {f}" for f, n in incl.most_common(top + 15)]
    return "\n".join(rows)


# -- report ------------------------------------------------------------------------------


def fmt(x: Any, digits: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return f"{float(x):,.{digits}f}"
    return str(x)


def negotiated(res: dict[str, Any]) -> str:
    ext = res.get("negotiated_extensions", {})
    deflated = sum(v for k, v in ext.items() if "permessage-deflate" in k)
    total = sum(ext.values()) or 1
    return "yes" if deflated == total else "no" if deflated == 0 else f"{deflated}/{total}"


class OutOfTime(Exception):
    """The whole run exceeded --budget."""


OTHER_LOAD_MAX = 0.25
"""Cores used by other processes during a run above which it is measured again."""


def other_load(r: dict[str, Any]) -> float:
    if "error" in r:
        return float("inf")
    phase = r.get("fanout") or r.get("open_loop") or {}
    return max(r["joins"].get("other_cpu_share") or 0, phase.get("other_cpu_share") or 0)


def open_loop_table(results: dict[str, list[dict[str, Any]]]) -> str:
    """One row per run of the open-loop mode (`--rate`)."""
    head = (
        "| server | attendees | broadcasts/s | delivered / expected | per delivery p50 / p99 ms "
        "| drain after the last trigger ms | server CPU, cores | server CPU µs / delivery "
        "| load generator, cores | other load, cores | keeps up |"
    )
    rows = [head, "|" + "|".join(["---"] * 11) + "|"]
    for sc in SCENARIOS:
        for r in results.get(sc.name, []):
            if "error" in r:
                rows.append(f"| {sc.label} | failed: {r['error']} |" + " |" * 9)
                continue
            o = r["open_loop"]
            lat = o["per_delivery_ms"]
            # Keeps up: everything delivered, the server below one core, and no trigger
            # sent more than a period late (else the load generator was the bottleneck).
            keeps = (
                o["delivered"] == o["expected"]
                and (o["server_cpu_cores"] or 0) < 0.95
                and not o["triggers_sent_late"]
            )
            rows.append(
                f"| {sc.label} | {r['joins']['joined']} | {o['rate']} "
                f"| {o['delivered']} / {o['expected']} | {fmt(lat.get('p50'))} / "
                f"{fmt(lat.get('p99'))} | {o['drain_ms']} | {fmt(o['server_cpu_cores'], 2)} "
                f"| {fmt(o['server_cpu_us_per_delivery'])} | {fmt(o['loadgen_cpu_cores'], 2)} "
                f"| {fmt(o['other_cpu_share'], 2)} | {'yes' if keeps else 'no'} |"
            )
    return "\n".join(rows)


METRICS: dict[str, Callable[[dict[str, Any]], float | None]] = {
    "joins_per_s": lambda r: r["joins"]["per_second"],
    "join_p50": lambda r: r["joins"]["latency_ms"].get("p50"),
    "join_p99": lambda r: r["joins"]["latency_ms"].get("p99"),
    "rss_kib": lambda r: r.get("rss_kib_per_attendee"),
    "all_p50": lambda r: r["fanout"]["to_all_ms"].get("p50"),
    "all_p99": lambda r: r["fanout"]["to_all_ms"].get("p99"),
    "del_p50": lambda r: r["fanout"]["per_delivery_ms"].get("p50"),
    "del_p99": lambda r: r["fanout"]["per_delivery_ms"].get("p99"),
    "cpu_us_delivery": lambda r: r["fanout"].get("server_cpu_us_per_delivery"),
    "cpu_ms_join": lambda r: r.get("server_cpu_ms_per_join"),
    "server_cpu_share_joins": lambda r: r["joins"].get("server_cpu_share"),
    "loadgen_cpu_share_joins": lambda r: r["joins"].get("loadgen_cpu_share"),
    "loadgen_cpu_share_fanout": lambda r: r["fanout"]["loadgen_cpu_s"] / r["fanout"]["wall_s"],
    "server_cpu_share_fanout": lambda r: r["fanout"].get("server_cpu_s", 0) / r["fanout"]["wall_s"],
    "other_cpu_joins": lambda r: r["joins"].get("other_cpu_share"),
    "other_cpu_fanout": lambda r: r["fanout"].get("other_cpu_share"),
    "other_load": other_load,
}


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each metric's median over the successful runs of one scenario, with its range."""
    ok = [r for r in runs if "error" not in r]
    out: dict[str, Any] = {"runs": len(ok), "failed": [r["error"] for r in runs if "error" in r]}
    if not ok:
        return out
    for name, get in METRICS.items():
        vals = [v for v in (get(r) for r in ok) if v is not None]
        out[name] = statistics.median(vals) if vals else None
        out[name + "_range"] = (min(vals), max(vals)) if vals else None
    out["negotiated"] = ",".join(sorted({negotiated(r) for r in ok}))
    out["joined"] = min(r["joins"]["joined"] for r in ok)
    out["n"] = ok[0]["config"]["n"]
    return out


def table(agg: dict[str, dict[str, Any]]) -> str:
    head = (
        "| server | client offers deflate | deflate negotiated | runs | joins/s | join p50 / p99 ms "
        "| RSS KiB / attendee | fan-out to all p50 / p99 ms | per delivery p50 / p99 ms "
        "| server CPU µs / delivery | server CPU ms / join | other load, cores |"
    )
    rows = [head, "|" + "|".join(["---"] * 12) + "|"]
    for sc in SCENARIOS:
        a = agg.get(sc.name)
        if a is None:
            continue
        offered = "yes" if sc.deflate else "no"
        if not a["runs"]:
            rows.append(f"| {sc.label} | {offered} | failed: {a['failed'][0]} |" + " |" * 9)
            continue
        joins = fmt(a["joins_per_s"], 0)
        if a["joined"] < a["n"]:
            joins += f" ({a['joined']}/{a['n']} joined)"
        runs = str(a["runs"]) + (f" (+{len(a['failed'])} failed)" if a["failed"] else "")
        cells = [
            sc.label,
            offered,
            a["negotiated"],
            runs,
            joins,
            f"{fmt(a['join_p50'])} / {fmt(a['join_p99'])}",
            fmt(a["rss_kib"]),
            f"{fmt(a['all_p50'])} / {fmt(a['all_p99'])}",
            f"{fmt(a['del_p50'])} / {fmt(a['del_p99'])}",
            fmt(a["cpu_us_delivery"]),
            fmt(a["cpu_ms_join"], 2),
            fmt(a["other_load"], 2),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def ratios(agg: dict[str, dict[str, Any]], n: int) -> str:
    t, s, nd, tdf = (agg.get(k) for k in ("tribune", "sio", "node", "tribune-df"))
    out = [
        "| measure | Tribune | bare python-socketio | ratio | target | verdict |",
        "|---|---|---|---|---|---|",
    ]

    def verdict(flag: bool) -> str:
        return "met" if flag else "**missed**"

    def good(a: dict[str, Any] | None) -> bool:
        return a is not None and a["runs"] > 0

    def rng(a: dict[str, Any], key: str, digits: int = 1) -> str:
        lo, hi = a[key + "_range"]
        spread = f" ({lo:,.{digits}f}-{hi:,.{digits}f})" if a["runs"] > 1 else ""
        return f"{a[key]:,.{digits}f}{spread}"

    if t is not None and s is not None and good(t) and good(s):
        r = t["joins_per_s"] / s["joins_per_s"]
        out.append(
            f"| joins/s | {rng(t, 'joins_per_s', 0)} | {rng(s, 'joins_per_s', 0)} | {r:.2f} "
            f"| ≥ 0.80 | {verdict(r >= 0.8)} |"
        )
        r = t["all_p99"] / s["all_p99"]
        out.append(
            f"| fan-out to all {n:,}, p99 ms | {rng(t, 'all_p99')} | {rng(s, 'all_p99')} | {r:.2f} "
            f"| ≤ 1.25 | {verdict(r <= 1.25)} |"
        )
        r = t["del_p99"] / s["del_p99"]
        out.append(
            f"| per-delivery latency, p99 ms | {rng(t, 'del_p99')} | {rng(s, 'del_p99')} | {r:.2f} "
            f"| (≤ 1.25) | {verdict(r <= 1.25)} |"
        )
        r = t["cpu_us_delivery"] / s["cpu_us_delivery"]
        out.append(
            f"| server CPU µs / delivery | {rng(t, 'cpu_us_delivery')} "
            f"| {rng(s, 'cpu_us_delivery')} | {r:.2f} | - | - |"
        )
        r = t["cpu_ms_join"] / s["cpu_ms_join"]
        out.append(
            f"| server CPU ms / join | {rng(t, 'cpu_ms_join', 2)} | {rng(s, 'cpu_ms_join', 2)} "
            f"| {r:.2f} | - | - |"
        )
    if tdf is not None and good(tdf):
        rss = tdf["rss_kib"]
        out.append(
            f"| RSS KiB / idle attendee, deflate offered | {rss:.1f} | - | - | ≤ 64 KiB "
            f"| {verdict(rss <= 64)} |"
        )
    if t is not None and nd is not None and good(t) and good(nd):
        r = t["cpu_us_delivery"] / nd["cpu_us_delivery"]
        out.append(
            f"| CPU µs / delivery vs Node socket.io | {t['cpu_us_delivery']:.1f} "
            f"| Node: {nd['cpu_us_delivery']:.1f} | {r:.2f} | - | - |"
        )
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--quick", action="store_true", help="N=200 attendees, fewer fan-outs, one run each"
    )
    p.add_argument("-n", type=int, help="attendees (default 1000; 200 with --quick)")
    p.add_argument(
        "--cycles", type=int, help="hand.raise + hand.next rounds (default 50; 20 with --quick)"
    )
    p.add_argument(
        "--repeat",
        type=int,
        help="runs of each scenario, interleaved (all scenarios, then all again, ...); "
        "medians reported (default 2; 1 with --quick)",
    )
    p.add_argument("--concurrency", type=int, default=50, help="joins in flight (default 50)")
    p.add_argument("--gap-ms", type=int, default=30, help="pause between fan-outs (default 30)")
    p.add_argument(
        "--only", help="comma-separated scenarios: " + ",".join(s.name for s in SCENARIOS)
    )
    p.add_argument("--no-pin", action="store_true", help="do not pin server/clients with taskset")
    p.add_argument(
        "--profile", action="store_true", help="also run Tribune once under py-spy (joins, fan-out)"
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=30,
        help="before each run, wait up to this many seconds for other processes to go "
        "below 0.2 cores (default 30; 0 = never wait)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=1,
        help=f"measure a run again when other processes took more than {OTHER_LOAD_MAX} "
        "cores during it, keeping the cleaner one (default 1)",
    )
    p.add_argument(
        "--rate",
        type=float,
        default=0,
        help="open loop instead of the closed-loop cycles: this many broadcasts per second "
        "(hand.raise / hand.next alternating), each sent on time; reports delivered / "
        "expected, latency per delivery and server CPU (e.g. -n 5000 --rate 20 --only tribune)",
    )
    p.add_argument(
        "--duration", type=float, default=10, help="seconds of the open loop (default 10)"
    )
    p.add_argument("--json-out", type=Path, help="write every raw result here")
    p.add_argument(
        "--budget", type=int, default=600, help="abort the whole run after this many seconds"
    )
    args = p.parse_args()

    n = args.n or (200 if args.quick else 1000)
    cycles = args.cycles or (20 if args.quick else 50)
    repeat = args.repeat or (1 if args.quick else 2)
    pin = not args.no_pin and shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    wanted = set(args.only.split(",")) if args.only else {s.name for s in SCENARIOS}
    unknown = wanted - {s.name for s in SCENARIOS}
    if unknown:
        p.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if not (ROOT / "node_modules" / "socket.io-client").exists():
        p.error("node_modules missing: run `npm install` first")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4 * n + 1024
    if hard != resource.RLIM_INFINITY:
        want = min(hard, want)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))

    atexit.register(stop_all)

    def on_signal(signum: int, frame: Any) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    def on_alarm(signum: int, frame: Any) -> None:
        raise OutOfTime()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.budget)

    cfg = {
        "n": n,
        "cycles": cycles,
        "concurrency": args.concurrency,
        "gap_ms": args.gap_ms,
        "clk_tck": os.sysconf("SC_CLK_TCK"),
        "deadline_ms": 150_000 + n * 30,
        "rate": args.rate,
        "duration_s": args.duration,
    }
    started = time.monotonic()
    log(
        f"N={n}, {cycles} cycles ({2 * cycles} fan-outs), {args.concurrency} joins in flight, "
        f"{repeat} interleaved run(s) of each scenario; "
        + ("server on CPU 0, load generator on CPU 1 (taskset)" if pin else "not pinned")
    )
    plan = [sc for _ in range(repeat) for sc in SCENARIOS]
    results: dict[str, list[dict[str, Any]]] = {}
    profiles: dict[str, str] = {}
    try:
        for sc in plan:
            if sc.name not in wanted:
                continue
            if time.monotonic() - started > args.budget:
                break
            res: dict[str, Any] | None = None
            for attempt in range(1 + args.retries):
                try:
                    new = measure(sc, cfg, pin, args.quiet_wait)
                except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
                    log(f"{sc.name} failed: {exc}")
                    new = {"error": str(exc)}
                if res is None or "error" in res or other_load(new) < other_load(res):
                    res = new
                if "error" in res or other_load(res) <= OTHER_LOAD_MAX or attempt == args.retries:
                    break
                log(
                    f"{sc.name}: other processes used {other_load(res):.2f} cores during the "
                    f"run; measuring again ({attempt + 1}/{args.retries})"
                )
            assert res is not None
            results.setdefault(sc.name, []).append(res)
        if args.profile and time.monotonic() - started < args.budget:
            out_dir = Path(tempfile.mkdtemp(prefix="tribune-profile-"))
            wait_quiet(args.quiet_wait)
            for phase, raw in profile_tribune(cfg, pin, out_dir).items():
                profiles[phase] = summarize_profile(raw, phase)
                log(f"py-spy collapsed stacks of the {phase} phase: {raw}")
    except OutOfTime:
        log(f"out of time after {args.budget} s: reporting what was measured")
    finally:
        signal.alarm(0)
        stop_all()

    agg = {} if args.rate else {name: median_of(runs) for name, runs in results.items()}
    try:
        model = next(
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        )
    except (OSError, StopIteration):
        model = platform.machine()
    print(f"## Signaling benchmark, {dt.date.today().isoformat()}")
    print()
    print(
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
        f"N={n} attendees, "
        + (
            f"open loop: {args.rate:g} broadcasts/s for {args.duration:g} s, "
            if args.rate
            else f"{2 * cycles} fan-outs per run, "
        )
        + f"{args.concurrency} joins in flight, "
        + ("server pinned to CPU 0 and load generator to CPU 1" if pin else "no pinning")
        + f"; medians of {repeat} interleaved run(s); "
        f"took {time.monotonic() - started:.0f} s."
    )
    print()
    if args.rate:
        print(open_loop_table(results))
        if args.json_out:
            args.json_out.write_text(json.dumps(results, indent=1))
            log(f"raw results in {args.json_out}")
        return 0
    print(table(agg))
    print()
    print(ratios(agg, n))
    print()
    for name, runs in results.items():
        for r in runs:
            if "error" in r:
                continue
            f = r["fanout"]
            if f["incomplete"] or f["failed_acks"] or f["strays"] or r["joins"]["errors"]:
                print(
                    f"{name}: incomplete fan-outs {f['incomplete']}, failed acks "
                    f"{f['failed_acks']} ({f['first_failed_ack']}), strays {f['strays']}, "
                    f"join errors {r['joins']['errors']}"
                )
    shares = [
        f"{k} joins {a['server_cpu_share_joins']:.0%} / {a['loadgen_cpu_share_joins']:.0%}, "
        f"fan-out {a['server_cpu_share_fanout']:.0%} / {a['loadgen_cpu_share_fanout']:.0%}; "
        f"other processes {a['other_cpu_joins'] or 0:.0%} / {a['other_cpu_fanout'] or 0:.0%}"
        for k, a in agg.items()
        if a["runs"]
    ]
    if shares:
        print(
            "CPU use, in cores (server / load generator during joins, during fan-out; then "
            "other processes on the machine during joins / fan-out):\n\n- " + "\n- ".join(shares)
        )
    for phase, text in profiles.items():
        print(f"\n### Tribune {phase} profile (py-spy)\n\n```\n{text}\n```")
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=1))
        log(f"raw results in {args.json_out}")
    failed = [k for k, a in agg.items() if a["failed"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
