"""Bad input gets a clear error with a code; other clients never notice; no tracebacks."""

from __future__ import annotations

import asyncio

import msgpack
import pytest

from tests.helpers import Refused

BIG = "x" * (1024 * 1024)


def bad_payloads(schema_fields: dict[str, object]) -> list[object]:
    good = dict(schema_fields)
    out: list[object] = [
        "a string",
        42,
        [1, 2],
        {**good, "extra": 1},
        {k: ["wrong", "type"] for k in good} or {"x": 1},
        {**good, next(iter(good)): BIG} if good else {"x": BIG},
        {k: {"nested": [1, {"deep": None}]} for k in good} or {"y": None},
    ]
    for k in good:  # missing each required field
        out.append({kk: v for kk, v in good.items() if kk != k})
    return out


SAMPLES: dict[str, dict[str, object]] = {
    "event.start": {},
    "event.end": {},
    "role.set": {"person": "someone", "role": "presenter"},
    "hand.raise": {},
    "hand.lower": {},
    "hand.next": {},
    "person.remove": {"person": "someone"},
    "sync": {"rev": 0},
}


async def test_every_event_refuses_malformed_payloads(mem_server, no_tracebacks) -> None:
    s = await mem_server.setup()
    org = await s.join("organizer")
    participant = await s.join("participant")
    bystander = await s.join("participant")
    await bystander.wait_for("room.state")
    for event, sample in SAMPLES.items():
        sender = participant if event.startswith("hand.") and event != "hand.next" else org
        for payload in bad_payloads(sample):
            if payload == {} and not sample:
                continue
            ack = await sender.call(event, payload)
            assert ack["ok"] is False, (event, str(payload)[:80])
            assert ack["error"]["code"] == "invalid", (event, ack)
            await asyncio.sleep(0.055)  # stay under the rate limit: this test is about shapes
    # the field at fault is named
    ack = await org.call("role.set", {"person": 5, "role": "presenter"})
    assert ack["error"]["field"] == "person"
    ack = await org.call("role.set", {"person": "x"})
    assert ack["error"]["field"] == "role"
    ack = await org.call("role.set", {"person": "x", "role": "king"})
    assert ack["error"]["field"] == "role"
    ack = await org.call("no.such.event", {})
    assert ack["error"] == {"code": "invalid", "message": ack["error"]["message"], "field": "event"}
    # the bystander kept working throughout
    assert (await bystander.call("hand.raise"))["ok"]
    assert bystander.connected and org.connected
    await org.close()
    await bystander.close()


async def test_non_utf8_text_is_invalid_not_a_crash(mem_server, no_tracebacks) -> None:
    s = await mem_server.setup()
    org = await s.join("organizer")
    bystander = await s.join("participant")
    # a raw msgpack str carrying bytes that are not UTF-8, straight on the websocket
    answered: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    ack_id = org.sio._generate_ack_id("/room", lambda *a: answered.set_result(a[0]))
    packet = {
        "type": 2,
        "nsp": "/room",
        "id": ack_id,
        "data": ["role.set", {"person": "PLACEHOLDER", "role": "presenter"}],
    }
    raw = bytearray(msgpack.packb(packet))
    at = raw.index(b"PLACEHOLDER")
    raw[at : at + 11] = b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5"
    await org.sio.eio.send(bytes(raw))
    ack = await asyncio.wait_for(answered, 10)
    assert ack == {"ok": False, "error": {"code": "invalid", "message": "text must be valid UTF-8"}}
    assert org.connected
    # bytes (bin type) where text is expected: invalid
    ack = await org.call("role.set", {"person": b"\xff\xfe", "role": "presenter"})
    assert ack["error"]["code"] == "invalid"
    # garbage that is not msgpack at all: that connection is dropped, quietly
    await bystander.sio.eio.send(b"\xc1\xc1\xc1 not msgpack")
    for _ in range(50):
        if not bystander.connected:
            break
        await asyncio.sleep(0.05)
    assert not bystander.connected
    assert (await org.call("hand.next"))["ok"]
    await org.close()


async def test_malformed_auth_is_refused_with_invalid(mem_server, no_tracebacks) -> None:
    s = await mem_server.setup()
    for auth_token, device in [("", "device-123"), (s.tokens["participant"], "short")]:
        with pytest.raises(Refused) as err:
            await mem_server.client(auth_token, device=device)
        assert err.value.code == "invalid"
    with pytest.raises(Refused) as err:
        await mem_server.client("not.a.jwt", device="device-12345")
    assert err.value.code == "unauthorized"


async def test_expired_and_reissued_tokens_are_refused(mem_server, no_tracebacks) -> None:
    from signaling.tokens import Tokens

    s = await mem_server.setup()
    t = mem_server.tribune
    store = t.store
    from room import events as ev

    inv = (await ev.list_invitations(store, s.event.id))[1]
    expired = Tokens(t.tokens._secret, ttl=-10).sign(inv.event_id, inv.id, inv.role, inv.gen)
    with pytest.raises(Refused) as err:
        await mem_server.client(expired)
    assert err.value.code == "unauthorized" and "expired" in err.value.data["message"]
    other_secret = Tokens("another-secret-of-at-least-32-bytes").sign(
        inv.event_id, inv.id, inv.role, inv.gen
    )
    with pytest.raises(Refused) as err:
        await mem_server.client(other_secret)
    assert err.value.code == "unauthorized"
    old = mem_server.token(inv)
    await ev.reissue(store, s.event, inv.id)
    with pytest.raises(Refused) as err:
        await mem_server.client(old)
    assert err.value.code == "unauthorized"


async def test_floods_are_rate_limited_and_others_unaffected(mem_server, no_tracebacks) -> None:
    s = await mem_server.setup()
    flooder = await s.join("participant")
    other = await s.join("participant")
    acks = await asyncio.gather(*(flooder.call("hand.lower") for _ in range(200)))
    codes = [a["error"]["code"] for a in acks if not a["ok"]]
    assert codes and set(codes) == {"rate_limited"}
    assert sum(1 for a in acks if a["ok"]) >= 40
    assert (await other.call("hand.raise"))["ok"]
    await asyncio.sleep(1.0)
    assert (await flooder.call("hand.raise"))["ok"]  # the bucket refills
    await flooder.close()
    await other.close()
