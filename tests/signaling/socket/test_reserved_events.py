"""Client-sent events are only the ones docs/protocol.md declares: a forged `connect`,
`disconnect`, `*` or unknown name never reaches the server's own handlers, gets
`invalid` when it asks for an ack, and costs a token of the connection's rate limit."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import msgpack
import pytest

from tests.helpers import Client, Refused


def forged_auth(token: str) -> dict[str, str]:
    return {"token": token, "device": secrets.token_hex(8)}


def assert_invalid_event(ack: Any) -> None:
    assert isinstance(ack, dict), ack
    assert ack["ok"] is False, ack
    assert ack["error"]["code"] == "invalid", ack
    assert ack["error"]["field"] == "event", ack
    assert isinstance(ack["error"]["message"], str)


async def raw_call(client: Client, data: Any) -> Any:
    """Send an EVENT packet whose `data` is whatever the test says; returns the ack."""
    answered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def on_ack(*args: Any) -> None:
        if not answered.done():
            answered.set_result(args[0] if args else None)

    ack_id = client.sio._generate_ack_id(client.namespace, on_ack)
    packet = {"type": 2, "nsp": client.namespace, "id": ack_id, "data": data}
    await client.sio.eio.send(msgpack.packb(packet))
    return await asyncio.wait_for(answered, 10)


async def test_forged_connect_takes_no_seat(mem_server, no_tracebacks) -> None:
    account, _ = await mem_server.account(attendees=3)
    event = await mem_server.event(account, capacity=3)
    _, participant = await mem_server.invite(event, "participant", shared=True)
    forger = await mem_server.client(participant)
    await forger.wait_for("room.state")
    acks = []
    for _ in range(2):
        acks.append(await forger.sio.call("connect", ({}, forged_auth(participant)), namespace="/room"))
        acks.append(await forger.call("connect", forged_auth(participant)))
    # the two seats left are still free for real attendees
    first = await mem_server.client(participant)
    second = await mem_server.client(participant)
    await first.wait_for("room.state")
    await second.wait_for("room.state")
    with pytest.raises(Refused) as full:
        await mem_server.client(participant)
    assert full.value.code == "room_full"
    for ack in acks:
        assert_invalid_event(ack)
    # the forger's own connection is untouched
    assert forger.connected
    assert (await forger.call("hand.raise"))["ok"]


async def test_forged_disconnect_does_not_escape_removal(mem_server, no_tracebacks) -> None:
    s = await mem_server.setup()
    org = await s.join("organizer")
    target = await s.join("participant")
    witness = await s.join("participant")
    pid = (await target.wait_for("room.state"))["you"]["person"]
    await witness.wait_for("room.state")
    ack = await target.call("disconnect", "client namespace disconnect")
    # he still counts as connected, and removal with a ban still closes his socket
    assert (await target.call("hand.raise"))["ok"]
    assert (await org.call("person.remove", {"person": pid, "ban": True}))["ok"]
    removed = await target.wait_for("removed")
    assert removed["code"] == "banned"
    for _ in range(100):
        if not target.connected:
            break
        await asyncio.sleep(0.05)
    assert not target.connected
    sent = await org.call("chat.send", {"text": "after the ban"})
    assert sent["ok"], sent
    await witness.wait_for("chat.message", lambda d: d["message"]["text"] == "after the ban")
    assert not any(
        d["message"]["text"] == "after the ban" for d in target.received.get("chat.message", [])
    )
    assert_invalid_event(ack)


async def test_star_and_shapeless_events_get_invalid(mem_server, no_tracebacks) -> None:
    s = await mem_server.setup()
    org = await s.join("organizer")
    sender = await s.join("participant")
    await sender.wait_for("room.state")
    assert_invalid_event(await sender.call("*", {"x": 1}))
    assert_invalid_event(await sender.sio.call("*", ("hand.raise", {}), namespace="/room"))
    assert_invalid_event(await sender.call("connect_error", {}))
    for data in (None, [], "hand.raise", {"event": "hand.raise"}, [{"a": 1}, {}], [7], [None]):
        assert_invalid_event(await raw_call(sender, data))
    # on /manage too
    manager = await mem_server.client(s.tokens["organizer"], namespace="/manage")
    assert_invalid_event(await manager.call("disconnect", {}))
    assert_invalid_event(await manager.call("*", {}))
    assert manager.connected and sender.connected
    assert (await sender.call("hand.raise"))["ok"]
    assert (await org.call("hand.next"))["ok"]


async def test_forged_events_count_against_the_rate_limit(mem_server, no_tracebacks) -> None:
    s = await mem_server.setup()
    flooder = await s.join("participant")
    await flooder.wait_for("room.state")
    names = ["connect", "disconnect", "*", "no.such.event"]
    acks = await asyncio.gather(
        *(flooder.call(names[i % len(names)], {}) for i in range(200))
    )
    codes = [a["error"]["code"] for a in acks]
    assert set(codes) == {"invalid", "rate_limited"}, set(map(str, codes))
    assert codes.count("rate_limited") >= 100
    assert flooder.connected
