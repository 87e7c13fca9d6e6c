"""Identities on shared links are issued by the server (issue 9 item 5): a fresh `device`
evades nothing, the identity token keeps a person one identity across reconnects, and
minting is limited per address and closed to a banned address."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from room.ratelimit import Rate
from room.types import Role
from tests.helpers import Client, Refused


def ok(ack: dict) -> dict:
    assert ack["ok"], ack
    return ack


async def gone(c: Client) -> None:
    for _ in range(200):
        if not c.connected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("still connected")


async def test_a_banned_attendee_is_refused_with_a_fresh_device(server):
    s = await server.setup()
    org = await s.join("organizer")
    p = await s.join("participant", name="Troll")
    token = await p.identity()
    pid = (await p.wait_for("room.state"))["you"]["person"]
    ok(await org.call("person.remove", {"person": pid, "ban": True}))
    await gone(p)
    with pytest.raises(Refused) as err:  # his identity token, another device
        await s.join("participant", device=secrets.token_hex(8), identity=token)
    assert err.value.code == "banned"
    with pytest.raises(Refused) as err:  # no token, a fresh device: a new identity is refused
        await s.join("participant", device=secrets.token_hex(8))
    assert err.value.code == "banned"


async def test_the_address_ban_is_configurable(make_server):
    server = await make_server(address_ban=0.0)
    s = await server.setup()
    org = await s.join("organizer")
    p = await s.join("participant")
    token = await p.identity()
    pid = (await p.wait_for("room.state"))["you"]["person"]
    ok(await org.call("person.remove", {"person": pid, "ban": True}))
    await gone(p)
    with pytest.raises(Refused) as err:
        await s.join("participant", identity=token)
    assert err.value.code == "banned"
    other = await s.join("participant")  # another person from the same address
    assert (await other.wait_for("room.state"))["you"]["person"] != pid


async def test_a_muted_attendee_stays_muted_with_a_fresh_device(server):
    s = await server.setup()
    org = await server.client(s.tokens["organizer"], namespace="/manage")
    p = await s.join("participant", name="Loud")
    token = await p.identity()
    pid = (await p.wait_for("room.state"))["you"]["person"]
    ok(await org.call("chat.mute", {"person": pid}))
    await p.wait_for("chat.muted", lambda d: d["muted"] is True)
    await p.close()
    back = await s.join("participant", device=secrets.token_hex(8), identity=token)
    assert (await back.wait_for("room.state"))["you"]["person"] == pid
    assert (await back.wait_for("moderation.state"))["muted"] is True
    assert (await back.call("chat.send", {"text": "I am back"}))["error"]["code"] == "forbidden"


async def test_one_vote_per_person_across_fresh_devices(server):
    s = await server.setup()
    org = await server.client(s.tokens["organizer"], namespace="/manage")
    ok(await org.call("question.settings", {"visibility": "all"}))
    asker = await s.join("participant", name="Asker")
    await asker.wait_for("moderation.state")
    qid = ok(await asker.call("question.ask", {"text": "Why?"}))["question"]["id"]
    voter = await s.join("participant", name="Voter")
    token = await voter.identity()
    assert ok(await voter.call("question.vote", {"id": qid}))["votes"] == 1
    await voter.close()
    for _ in range(3):
        again = await s.join("participant", device=secrets.token_hex(8), identity=token)
        assert ok(await again.call("question.vote", {"id": qid}))["votes"] == 1
        await again.close()


async def test_the_identity_token_keeps_identity_and_seat_across_a_reconnect(make_server):
    server = await make_server(grace=30.0)
    s = await server.setup(attendees=1)
    org = await s.join("organizer")
    p = await s.join("participant", name="Ann")
    token = await p.identity()
    pid = (await p.wait_for("room.state"))["you"]["person"]
    await p.close()
    await org.wait_for(
        "roster.updated", lambda d: d["person"]["person"] == pid and not d["person"]["connected"]
    )
    with pytest.raises(Refused) as err:  # the only seat is still hers (grace)
        await s.join("participant", device=secrets.token_hex(8))
    assert err.value.code == "room_full"
    back = await s.join("participant", device=secrets.token_hex(8), identity=token)
    state = await back.wait_for("room.state")
    assert state["you"]["person"] == pid and state["you"]["name"] == "Ann"
    assert "identity.issued" not in back.received  # nothing new was minted


@pytest.mark.parametrize("case", ["forged", "other_event", "other_link", "link_token"])
async def test_a_bad_identity_token_is_refused(server, case):
    s = await server.setup()
    p = await s.join("participant")
    token = await p.identity()
    if case == "forged":
        head, body, _ = token.split(".")
        presented = f"{head}.{body}.{'A' * 43}"
    elif case == "other_event":
        other = await server.event(s.account)
        inv, link = await server.invite(other, Role.PARTICIPANT, shared=True)
        stranger = await server.client(link)
        presented = await stranger.identity()
    elif case == "other_link":
        inv, _ = await server.invite(s.event, Role.PARTICIPANT, shared=True)
        presented = server.tribune.tokens.sign_identity(s.event.id, inv.id, inv.id + ".x")
    else:
        presented = s.tokens["participant"]
    with pytest.raises(Refused) as err:
        await s.join("participant", identity=presented)
    assert err.value.code == "unauthorized"


async def test_minting_identities_is_rate_limited_per_address(make_server):
    server = await make_server(identity_rate=Rate.per(2, 600))
    s = await server.setup()
    first = await s.join("participant")
    token = await first.identity()
    await s.join("participant")
    with pytest.raises(Refused) as err:
        await s.join("participant")
    assert err.value.code == "rate_limited"
    await first.close()
    back = await s.join("participant", identity=token)  # a known identity mints nothing
    await back.wait_for("room.state")


async def test_a_screen_link_cannot_join_the_room(server):
    s = await server.setup()
    with pytest.raises(Refused) as err:
        await s.join("screen")
    assert err.value.code == "forbidden"
    screen = await server.client(s.tokens["screen"], namespace="/screen")
    await screen.wait_for("room.state")
