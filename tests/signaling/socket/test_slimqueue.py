"""The connection's send queue (signaling/socket/slimqueue.py) behaves as asyncio.Queue
does, costs a fraction of its memory when empty, and is the one every connection gets."""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest

from signaling.socket.slimqueue import SlimQueue


@pytest.mark.parametrize("make", [asyncio.Queue, SlimQueue])
async def test_the_queue_keeps_order_wakes_its_getter_and_joins(make: type) -> None:
    q = make()
    waiting = asyncio.ensure_future(q.get())
    await asyncio.sleep(0)
    assert q._getters and not q._queue  # what frames.write_through reads: an idle writer
    q.put_nowait("a")
    assert await waiting == "a"
    for item in ("b", "c", None):
        await q.put(item)
    assert q.qsize() == 3 and not q.empty()
    assert [q.get_nowait() for _ in range(3)] == ["b", "c", None]
    with pytest.raises(asyncio.QueueEmpty):
        q.get_nowait()
    joined = asyncio.ensure_future(q.join())
    await asyncio.sleep(0)
    assert not joined.done()  # four items taken, none marked done
    for _ in range(4):
        q.task_done()
    await joined
    with pytest.raises(ValueError):
        q.task_done()
    await q.join()  # nothing unfinished: returns at once


async def test_a_cancelled_getter_leaves_the_queue_usable() -> None:
    q = SlimQueue()
    getter = asyncio.ensure_future(q.get())
    await asyncio.sleep(0)
    getter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await getter
    assert not q._getters
    q.put_nowait(1)
    assert await q.get() == 1


def _footprint(make: type, n: int = 200) -> int:
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    queues = [make() for _ in range(n)]
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(queues) == n
    return used // n


def test_an_empty_queue_costs_a_fraction_of_asyncio_queue() -> None:
    slim, stock = _footprint(SlimQueue), _footprint(asyncio.Queue)
    assert slim * 4 < stock, (slim, stock)


async def test_every_connection_gets_the_slim_queue(mem_server) -> None:
    s = await mem_server.setup()
    c = await s.join("participant")
    await c.wait_for("room.state")
    hub = mem_server.tribune.hub
    assert hub is not None
    sockets = list(hub.sio.eio.sockets.values())
    assert sockets and all(type(sock.queue) is SlimQueue for sock in sockets)
    assert (await c.call("hand.raise"))["ok"]
    await c.wait_for("hand.queue")
