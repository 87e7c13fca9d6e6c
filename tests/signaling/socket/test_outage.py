"""A store outage at the edge: actions that need the store are refused `unavailable` at
once (socket acks, HTTP 503, connect_error), `/healthz` says why, and the log has one line
per state change per part, never a traceback; when the store answers, all of it works again."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from tests.helpers import Refused, Server, http
from tests.own_redis import TIMING, Redis


# python-socketio's Redis manager drops its old client unclosed when it reconnects after
# an outage; the garbage collector then warns about that client's sockets.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_during_an_outage_actions_are_unavailable_and_logged_once(
    own_redis: Redis, make_server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    a: Server = await make_server(redis_url=own_redis.url, **TIMING)
    s = await a.setup()
    org = await a.client(s.tokens["organizer"], namespace="/manage")
    people = [await a.client(s.tokens["participant"]) for _ in range(2)]
    for c in people:
        await c.wait_for("room.state")
    assert (await http("GET", f"{a.url}/healthz")) == (200, {"ok": True})

    own_redis.kill()
    loop = asyncio.get_running_loop()
    for _ in range(3):  # repeated failures: still one line
        for c in people:
            started = loop.time()
            ack = await c.call("question.ask", {"text": "anyone there?"})
            assert ack["ok"] is False and ack["error"]["code"] == "unavailable", ack
            assert loop.time() - started < 10, "the refusal took too long"
        ack = await org.call("stats.get")
        assert ack["ok"] is False and ack["error"]["code"] == "unavailable", ack
        status, body = await http("GET", f"{a.url}/api/v1/events", key=s.api_key)
        assert status == 503 and body["error"]["code"] == "unavailable", (status, body)
    assert (await http("GET", f"{a.url}/healthz")) == (
        503,
        {"ok": False, "error": "store unreachable"},
    )
    with pytest.raises(Refused) as refused:
        await a.client(s.tokens["participant"])
    assert refused.value.code == "unavailable", refused.value.data
    await asyncio.sleep(3 * TIMING["lease_ttl"])  # background loops meet the outage too

    own_redis.start()
    deadline = loop.time() + 10
    while (await http("GET", f"{a.url}/healthz"))[0] != 200:
        assert loop.time() < deadline, "healthz did not come back"
        await asyncio.sleep(0.1)
    ack = await people[0].call("question.ask", {"text": "back?"})
    assert ack["ok"], ack
    assert (await http("GET", f"{a.url}/api/v1/events", key=s.api_key))[0] == 200
    again = await a.client(s.tokens["participant"])
    await again.wait_for("room.state")
    await asyncio.sleep(2 * TIMING["lease_ttl"])

    edge = [r.getMessage() for r in caplog.records if r.name == "signaling.socket.fanout"]
    assert sum("unreachable" in m for m in edge) == 1, edge
    assert sum("answers again" in m for m in edge) == 1, edge
    outbox = [r.getMessage() for r in caplog.records if r.name == "room.audience.outbox"]
    assert sum("unreachable" in m for m in outbox) <= 1, outbox
    assert sum("resumes" in m for m in outbox) == sum("unreachable" in m for m in outbox)
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert not tracebacks, [(r.name, r.getMessage()) for r in tracebacks]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [(r.name, r.getMessage()) for r in errors]
    gc.collect()  # the Redis manager's dropped clients warn now, under the filter above
