"""Helpers for moderation tests over real Socket.IO clients."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.helpers import Client


async def wait_until(client: Client, check: Callable[[], Any], timeout: float = 20) -> Any:
    """Wait until `check()` (which reads client.received) returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with client._cond:
        while True:
            result = check()
            if result:
                return result
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"condition not met within {timeout}s")
            try:
                await asyncio.wait_for(client._cond.wait(), left)
            except TimeoutError:
                pass


def questions_seen(client: Client) -> dict[str, Any]:
    """The questions a client knows from its snapshot and every `question.changed` since,
    applied in revision order (None: removed)."""
    seen: dict[str, Any] = {}
    snap = client.last("manage.state") or client.last("screen.state")
    rev = 0
    if snap is not None:
        rev = snap["rev"]
        for q in snap["questions"]:
            seen[q["id"]] = q
    for d in sorted(client.received.get("question.changed", []), key=lambda d: d["rev"]):
        if d["rev"] > rev:
            seen[d["id"]] = d["question"]
    return seen


def on_screen(client: Client) -> list[Any]:
    """What a screen client shows: pushed, not answered, not hidden, in push order."""
    shown = [q for q in questions_seen(client).values()
             if q and q.get("pushed") is not None and not q["answered"] and not q["hidden"]]
    return sorted(shown, key=lambda q: q["pushed"])


def ok(ack: dict[str, Any]) -> dict[str, Any]:
    assert ack["ok"], ack
    return ack


def error(ack: dict[str, Any]) -> tuple[str, str | None]:
    assert not ack["ok"], ack
    return ack["error"]["code"], ack["error"].get("field")
