"""The real cluster: two `tribune serve` nodes on one redis-server (AOF) behind haproxy
with deploy/haproxy.cfg, all on 127.0.0.1. Every process dies with the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cluster.cluster import Cluster


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    c = await Cluster.start(tmp_path)
    try:
        yield c
    finally:
        await c.close()
