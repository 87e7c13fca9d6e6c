"""Stopping background tasks reliably."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def stop(task: asyncio.Task[Any], every: float = 1.0) -> None:
    """Cancel `task` and wait for it, cancelling again until it is done.

    A cancellation can be swallowed inside a library call (seen with redis-py's
    timeouts on Python 3.11): a single cancel() followed by `await task` can then
    hang forever. Loops stopped this way should also check a flag of their own.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=every)
    with contextlib.suppress(asyncio.CancelledError):
        task.result()
