"""Small waits and readings shared by the cluster tests and bench/outage.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from room.presence import roster
from room.store import Store
from tests.helpers import Client


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 15) -> float:
    """Wait until `check()` holds; returns the seconds it took (fails after `timeout`)."""
    start = time.monotonic()
    while not await check():
        assert time.monotonic() - start < timeout, what
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def person_id(client: Client) -> str:
    return str((await client.wait_for("room.state"))["you"]["person"])


async def connected_in_roster(store: Store, event_id: str, ids: list[str]) -> bool:
    """Every one of `ids` is in the event's roster and marked connected."""
    try:
        listed = {p.identity: p for p in await roster.people(store, event_id)}
    except Exception:  # the store not answering yet counts as "not yet"
        return False
    return all(i in listed and listed[i].connected for i in ids)


async def timed_call(client: Client, event: str, payload: Any = None) -> tuple[Any, float]:
    """The ack of one call and the seconds it took (10 s at most: then TimeoutError)."""
    start = time.monotonic()
    try:
        ack = await client.call(event, payload, timeout=10)
    except socketio.exceptions.TimeoutError:
        raise AssertionError(f"no ack to {event} within 10 s") from None
    return ack, time.monotonic() - start
