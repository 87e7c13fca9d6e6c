"""Fan-out between nodes after a store outage: chat crosses nodes again as soon as Redis
is back (not after the stock manager's doubling retry delay), and each node logs one
line when the link drops and one when it is back, not one per emit."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.helpers import Server
from tests.own_redis import TIMING, Redis, own_redis  # noqa: F401


async def test_chat_crosses_nodes_again_soon_after_an_outage(
    own_redis: Redis,  # noqa: F811
    make_server,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    a: Server = await make_server(redis_url=own_redis.url, **TIMING)
    b: Server = await make_server(redis_url=own_redis.url, **TIMING)
    s = await a.setup()
    speaker = await a.client(s.tokens["presenter"])
    listener = await b.client(s.tokens["participant"])
    await listener.wait_for("room.state")
    assert (await speaker.call("chat.send", {"text": "before"}))["ok"]
    await listener.wait_for("chat.message", lambda d: d["message"]["text"] == "before")

    own_redis.kill()
    await asyncio.sleep(6)  # the stock manager would wait 1 + 2 + 4 s, then 8 s more
    own_redis.start()
    loop = asyncio.get_running_loop()
    back = loop.time()
    while True:  # the first sends may still meet the relay reconnecting
        ack = await speaker.call("chat.send", {"text": "after"})
        if ack["ok"]:
            try:
                await listener.wait_for(
                    "chat.message", lambda d: d["message"]["text"] == "after", 0.5
                )
                break
            except AssertionError:  # not yet across
                pass
        assert loop.time() - back < 5, "chat did not cross nodes within 5 s of the restart"
        await asyncio.sleep(0.2)
    said = [r.getMessage() for r in caplog.records if r.name == "signaling.socket.relay"]
    assert sum("is cut" in m for m in said) == 2, said  # one per node
    assert sum("works again" in m for m in said) == 2, said
