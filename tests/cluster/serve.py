"""`tribune serve` through the real CLI, with leases short enough for a test:
`python -m tests.cluster.serve serve --port ... --redis-url ... --secret ...`.

The CLI has no flag for the lease timings (20 s leases, renewed every 5 s); this runner
shortens them and changes nothing else. It stops by itself after `LIFETIME` seconds and
when the process that started it dies (see procs.die_with_parent)."""

from __future__ import annotations

import argparse
import signal
import sys

from signaling import cli
from signaling.config import Config

TIMING = {"lease_ttl": 1.0, "renew_every": 0.2, "sweep_every": 0.1}
"""A lease lasts 1 s: a 25 s store outage is 25 lease periods long."""
LIFETIME = 900


def short_leases(args: argparse.Namespace, base=cli.config_from) -> Config:  # type: ignore[no-untyped-def]
    config: Config = base(args)
    for name, value in TIMING.items():
        setattr(config, name, value)
    return config


if __name__ == "__main__":
    signal.alarm(LIFETIME)  # SIGALRM's default action ends the process
    cli.config_from = short_leases
    sys.exit(cli.main(sys.argv[1:]))
