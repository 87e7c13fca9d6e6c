"""Redis-outage recovery of a real cluster: two `tribune serve` nodes on one redis-server
(AOF) behind haproxy with deploy/haproxy.cfg, all on 127.0.0.1 (the cluster tests'
tests/cluster/ machinery). Participants are connected to both nodes; Redis is killed for T
seconds and restarted on the same append-only directory. From the moment it answers again,
measured concurrently:

- healthz: every node's /healthz and the balancer's answer 200;
- first ack: a participant on each node gets `hand.raise` acknowledged (polled);
- roster: every connected participant is in the roster, marked connected;
- chat: a chat message sent on node A reaches a client on node B (sent once a second);
- slowest ack: the longest any of those calls waited for its acknowledgement.

    .venv/bin/python bench/outage.py                   # 3 runs, 25 s outages (~2 min)
    .venv/bin/python bench/outage.py --runs 5 --outage 10
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import socketio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.cluster.checks import connected_in_roster, person_id  # noqa: E402
from tests.cluster.cluster import Cluster  # noqa: E402
from tests.cluster.nodes import healthz  # noqa: E402
from tests.helpers import Client  # noqa: E402

LIMIT = 120.0
"""Seconds after the restart past which a figure is reported as not recovered."""


async def poll(check, since: float) -> float:  # type: ignore[no-untyped-def]
    while time.monotonic() - since < LIMIT:
        if await check():
            return time.monotonic() - since
        await asyncio.sleep(0.05)
    return float("inf")


async def one_run(outage: float, keep: bool) -> dict[str, float]:
    tmp = tempfile.mkdtemp(prefix="tribune-outage-")
    try:
        cluster = await Cluster.start(Path(tmp))
        try:
            return await measure(cluster, outage)
        finally:
            await cluster.close()
    finally:
        if keep:
            print(f"  logs in {tmp}", flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


async def measure(cluster: Cluster, outage: float) -> dict[str, float]:
    w = await cluster.webinar()
    a, b = cluster.a, cluster.b
    sender = await cluster.join(w, "collaborator", via=a)
    listener = await cluster.join(w, "organizer", via=b)
    people = [await cluster.join(w, "participant", via=n) for n in (a, b, a, b)]
    ids = [await person_id(c) for c in [sender, listener, *people]]
    await asyncio.sleep(1.5)

    cluster.redis.kill()
    await asyncio.sleep(outage)
    cluster.redis.start()
    since = time.monotonic()

    async def healthy() -> bool:
        urls = [a.url, b.url, cluster.balancer.url]
        return all([await healthz(u, 1) == 200 for u in urls])

    slowest = [0.0]

    async def call(c: Client, event: str, payload: dict[str, str] | None = None) -> bool:
        """One call; False when refused or not acknowledged within 10 s."""
        start = time.monotonic()
        try:
            return bool((await c.call(event, payload, timeout=10))["ok"])
        except socketio.exceptions.TimeoutError:
            print(f"  {event}: no ack within 10 s", flush=True)
            return False
        finally:
            slowest[0] = max(slowest[0], time.monotonic() - start)

    sent = 0

    async def crossed() -> bool:
        nonlocal sent
        if time.monotonic() - since >= sent:  # one message a second
            sent += 1
            await call(sender, "chat.send", {"text": f"after {sent}"})
        return any(
            m["message"]["text"].startswith("after")
            for m in listener.received.get("chat.message", [])
        )

    figures = await asyncio.gather(
        poll(healthy, since),
        poll(lambda: call(people[0], "hand.raise"), since),
        poll(lambda: call(people[1], "hand.raise"), since),
        poll(lambda: connected_in_roster(cluster.store, w.event.id, ids), since),
        poll(crossed, since),
    )
    tracebacks = {n.name: len(n.tracebacks()) for n in cluster.nodes}
    print(f"  tracebacks logged: {tracebacks}", flush=True)
    names = ["healthz", "ack on A", "ack on B", "roster", "chat A→B"]
    return {**dict(zip(names, figures, strict=True)), "slowest ack": slowest[0]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--outage", type=float, default=25.0, help="seconds Redis stays down")
    p.add_argument("--keep", action="store_true", help="keep the nodes' and haproxy's logs")
    args = p.parse_args()
    results = []
    for n in range(args.runs):
        print(f"run {n + 1}/{args.runs}: Redis down {args.outage:g} s", flush=True)
        r = asyncio.run(one_run(args.outage, args.keep))
        print("  " + ", ".join(f"{k} {v:.2f} s" for k, v in r.items()), flush=True)
        results.append(r)
    print(f"\nseconds from Redis answering again, {args.runs} runs of a {args.outage:g} s outage:")
    print("| figure | median | max |\n|---|---|---|")
    for key in results[0]:
        values = [r[key] for r in results]
        print(f"| {key} | {statistics.median(values):.2f} | {max(values):.2f} |")


if __name__ == "__main__":
    main()
