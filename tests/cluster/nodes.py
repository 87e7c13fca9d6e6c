"""A real cluster on 127.0.0.1: nodes (`tribune serve` subprocesses) on one redis-server
behind haproxy with deploy/haproxy.cfg, to kill, freeze and read the logs of."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster.procs import die_with_parent
from tests.cluster.redis import free_port

ROOT = Path(__file__).resolve().parents[2]
HAPROXY_CFG = ROOT / "deploy" / "haproxy.cfg"
TRACEBACK = "Traceback (most recent call last)"


async def healthz(url: str, timeout: float = 2) -> int:
    """The status of GET {url}/healthz, or 0 when nothing answers."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as s:
            async with s.get(f"{url}/healthz") as r:
                return r.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


class Process:
    """A child process whose output goes to a log file, killed with the test."""

    def __init__(self, name: str, log: Path) -> None:
        self.name = name
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    async def spawn(self, *argv: str, env: dict[str, str] | None = None) -> None:
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *argv, cwd=ROOT, stdin=asyncio.subprocess.DEVNULL, stdout=out,
                stderr=asyncio.subprocess.STDOUT, env=env, preexec_fn=die_with_parent,
            )  # fmt: skip

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def signal(self, sig: int) -> None:
        assert self.proc is not None and self.proc.returncode is None, f"{self.name} not running"
        os.kill(self.proc.pid, sig)

    async def kill(self) -> None:
        """SIGKILL: no disconnect bookkeeping, no renewal, its sockets cut."""
        if self.running:
            assert self.proc is not None
            self.proc.kill()
            await self.proc.wait()

    async def stop(self, timeout: float = 10) -> None:
        """SIGTERM, then SIGKILL after `timeout`; also wakes a frozen process first."""
        if not self.running:
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            await self.kill()


METRICS_TOKEN = "cluster-test-metrics"


class Node(Process):
    """`tribune serve` (tests/cluster/serve.py: the CLI, short leases) on a free port."""

    def __init__(self, name: str, workdir: Path, redis_url: str, secret: str, public: str):
        super().__init__(name, workdir / f"{name}.log")
        self.port = free_port()
        self.args = [
            "serve", "--host", "127.0.0.1", "--port", str(self.port),
            "--redis-url", redis_url, "--secret", secret, "--public-url", public,
            "--data-dir", str(workdir / name), "--grace", "1",
            "--metrics-token", METRICS_TOKEN,
        ]  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self, timeout: float = 30) -> None:
        await self.spawn(sys.executable, "-m", "tests.cluster.serve", *self.args)
        deadline = asyncio.get_running_loop().time() + timeout
        while "Tribune listening on" not in self.output():
            assert self.running, f"{self.name} exited:\n{self.output()}"
            assert asyncio.get_running_loop().time() < deadline, f"{self.name} never listened"
            await asyncio.sleep(0.05)

    async def metric(self, name: str) -> float:
        """The sum of one metric's samples in this node's `/metrics`."""
        headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        async with aiohttp.ClientSession() as s, s.get(self.url + "/metrics", headers=headers) as r:
            text = await r.text()
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name
        )

    def freeze(self) -> None:
        self.signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.signal(signal.SIGCONT)

    def tracebacks(self) -> list[str]:
        """The logger of each logged traceback ("?" when no log line names one), e.g.
        ["room.audience.outbox", ...]."""
        found = []
        lines = self.output().splitlines()
        for i, line in enumerate(lines):
            if line.startswith(TRACEBACK) and not _chained(lines, i):
                found.append(_logger(lines[i - 1]) if i else "?")
        return found


def _chained(lines: list[str], i: int) -> bool:
    """A traceback printed as the cause of the next one belongs to the same record."""
    return i >= 2 and lines[i - 2].startswith(("During handling of", "The above exception"))


def _logger(line: str) -> str:
    """`2026-01-01 12:00:00,000 ERROR room.audience.outbox: message` → its logger."""
    parts = line.split(" ", 3)
    return parts[3].split(":", 1)[0] if len(parts) == 4 and parts[2].isupper() else "?"


class Balancer(Process):
    """haproxy on a free port with deploy/haproxy.cfg, unchanged: only its variables set."""

    def __init__(self, workdir: Path, nodes: list[Node]) -> None:
        super().__init__("haproxy", workdir / "haproxy.log")
        self.port = free_port()
        self.nodes = nodes

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 15) -> None:
        exe = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
        assert exe is not None, "haproxy is not installed (bash scripts/setup --test installs it)"
        env = dict(os.environ, TRIBUNE_BIND=f"127.0.0.1:{self.port}")
        for i, node in enumerate(self.nodes, 1):
            env[f"TRIBUNE_NODE{i}"] = node.address
        await self.spawn(exe, "-db", "-f", str(HAPROXY_CFG), env=env)
        deadline = asyncio.get_running_loop().time() + timeout
        while await healthz(self.url) != 200:
            assert self.running, f"haproxy exited:\n{self.output()}"
            assert asyncio.get_running_loop().time() < deadline, "haproxy never answered"
            await asyncio.sleep(0.1)
