"""compose.yaml and the cluster tests run one load-balancer configuration,
deploy/haproxy.cfg; compose's nodes are configured only through real flags' env twins.
(Docker itself cannot run here: this checks the file, and haproxy checks the config.)"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess

import yaml

from signaling.cli import parser
from tests.cluster.nodes import HAPROXY_CFG, ROOT


def compose() -> dict:  # type: ignore[type-arg]
    return dict(yaml.safe_load((ROOT / "compose.yaml").read_text()))


def test_compose_runs_deploy_haproxy_cfg_in_front_of_its_nodes() -> None:
    services = compose()["services"]
    balancer = services["balancer"]
    assert "./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in balancer["volumes"]
    assert not (ROOT / "compose.yaml").read_text().count("backend "), "an inline config again"
    env = balancer["environment"]
    for i, name in enumerate(("node1", "node2"), 1):
        port = services[name]["environment"]["TRIBUNE_PORT"]
        assert env[f"TRIBUNE_NODE{i}"] == f"127.0.0.1:{port}"
    # Media is UDP on ports picked per connection: the nodes need the host's network.
    assert all(services[n]["network_mode"] == "host" for n in ("node1", "node2", "balancer"))


def test_haproxy_accepts_the_config_with_composes_variables() -> None:
    exe = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    assert exe is not None, "haproxy is not installed (bash scripts/setup --test installs it)"
    env = dict(os.environ, **compose()["services"]["balancer"]["environment"])
    r = subprocess.run(
        [exe, "-c", "-f", str(HAPROXY_CFG)], env=env, capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 0, r.stdout + r.stderr
    text = HAPROXY_CFG.read_text()
    for line in ("option httpchk GET /healthz", "balance url_param event", "hash-type consistent"):
        assert line in text


def test_every_node_variable_is_a_serve_flags_env_twin() -> None:
    sub = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    twins = set(re.findall(r"TRIBUNE_[A-Z_]+", sub.choices["serve"].format_help()))
    for name in ("node1", "node2"):
        variables = set(compose()["services"][name]["environment"])
        assert variables <= twins, variables - twins


def test_every_node_reads_and_writes_one_data_directory() -> None:
    """Recordings and exports are files: the nodes share the directory they live in."""
    services = compose()["services"]
    nodes = [s for s in services.values() if s.get("command", [None])[0] == "tribune"]
    assert len(nodes) >= 2
    dirs = {n["environment"]["TRIBUNE_DATA_DIR"] for n in nodes}
    mounts = {tuple(n["volumes"]) for n in nodes}
    assert len(dirs) == 1 and len(mounts) == 1
    [mount] = mounts
    assert any(v.split(":")[1] == next(iter(dirs)) for v in mount)
    assert mount[0].split(":")[0] in compose()["volumes"]
