"""The replay through the real server: a real aiortc presenter is recorded, the event ends,
it is on demand; the replay route answers its link holders (tracks, timeline, files), the
`/replay` namespace counts replay sessions, and the thank-you mails carry the link."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from room import events as ev
from room import recordings
from room.audience import sessions
from room.types import Role
from tests.helpers import Refused, http
from tests.media.test_stage_wire import WirePublisher
from tests.room.audience.helpers import body_of
from tests.room.audience.smtp import SmtpServer
from tests.signaling.http.test_mail import registration_event


@pytest.fixture
async def smtp():
    server = await SmtpServer().start()
    yield server
    await server.stop()


async def _get_bytes(url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        return r.status, await r.read()


async def test_a_recorded_event_is_on_demand_and_replays_to_its_link_holders(make_server, smtp):
    server = await make_server(smtp_url=smtp.url, mail_from="events@acme.test")
    store = server.tribune.store
    _account, key, event = await registration_event(server)
    base = f"{server.url}/api/v1"
    pres_inv = await ev.invite(
        store,
        event,
        ev.InvitationCreate(role=Role.PRESENTER, name="Pat Presenter", email="pat@acme.test"),
    )
    status, reg = await http(
        "POST",
        f"{base}/public/events/{event.id}/registrations",
        json={"email": "zoe@example.org", "name": "Zoë", "answers": {"company": "Zeta"}},
    )
    assert status == 201, reg
    zoe_token = reg["link"].split("#t=", 1)[1]
    _, screen_token = await server.invite(event, Role.SCREEN, shared=True)
    _, shared_token = await server.invite(event, Role.PARTICIPANT, shared=True)
    _, org_token = await server.invite(event, Role.ORGANIZER)
    ian_inv = await ev.invite(
        store, event, ev.InvitationCreate(role=Role.PARTICIPANT, name="Ian", email="ian@acme.test")
    )

    org = await server.client(org_token)
    manager = await server.client(org_token, namespace="/manage")
    zoe = await server.client(zoe_token)
    pres = WirePublisher(await server.client(server.token(pres_inv)))
    try:
        assert (await org.call("event.start"))["ok"]
        assert (await pres.publish())["ok"]
        await zoe.wait_for("media.tracks", lambda d: len(d["tracks"]) == 2)
        ack = await pres.client.call("recording.start")
        assert ack["ok"], ack
        await asyncio.sleep(1)
        asked = await zoe.call("question.ask", {"text": "Will there be a replay?"})
        assert asked["ok"], asked
        assert (await manager.call("question.push", {"id": asked["question"]["id"]}))["ok"]
        await asyncio.sleep(1.5)
        assert (await org.call("event.end"))["ok"]
        await org.wait_for("recording.status", lambda d: d["state"] == "stopped")
        # ended first, then on demand once the recording the end stopped is written
        await org.wait_for("event.status", lambda d: d["event"]["state"] == "ended")
        await org.wait_for("event.status", lambda d: d["event"]["state"] == "on_demand")
    finally:
        await pres.close()

    [rec] = await recordings.list_for(store, event.id)
    status, shown = await http("GET", f"{base}/events/{event.id}", key)
    assert status == 200 and shown["state"] == "on_demand", shown

    # The registrant's link opens the replay: tracks with signed files, the timeline
    status, replay = await http("GET", f"{base}/replay/{event.id}", zoe_token)
    assert status == 200, replay
    assert replay["event"] == {"id": event.id, "title": event.title, "state": "on_demand"}
    [played] = replay["recordings"]
    assert played["id"] == rec.id and played["duration_s"] > 2
    video = next(t for t in played["tracks"] if t["kind"] == "video")
    assert video["source"] == "camera" and video["duration"] > 1 and video["offset"] >= 0
    pushed = [
        e for e in played["timeline"] if e["kind"] == "question.changed" and e["data"]["question"]
    ]
    assert pushed and 0 < pushed[0]["t"] < played["duration_s"], played["timeline"]
    assert pushed[0]["data"]["question"]["text"] == "Will there be a replay?"
    status, data = await _get_bytes(server.url + video["url"])
    assert status == 200 and data[:4] == b"\x1a\x45\xdf\xa3"  # a WebM (EBML) file
    forged_sig = video["url"].rsplit("sig=", 1)[0] + "sig=forged"
    assert (await _get_bytes(server.url + forged_sig))[0] == 401
    other = video["url"].replace(rec.id, "rec_0000000000000000")
    assert (await _get_bytes(server.url + other))[0] == 403  # signed for another recording

    # Forged, screen and revoked links are refused
    status, body = await http("GET", f"{base}/replay/{event.id}", zoe_token[:-4] + "AAAA")
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, body = await http("GET", f"{base}/replay/{event.id}", screen_token)
    assert status == 403 and body["error"]["code"] == "forbidden"

    # A replay viewer is a replay session, counted apart from the live ones
    viewer = await server.client(zoe_token, namespace="/replay")
    status, body = await http("GET", f"{base}/events/{event.id}/stats", key)
    stats = body["stats"]
    assert status == 200
    assert stats["formats"]["replay"]["visitors"] == 1
    assert stats["formats"]["replay"]["peak"] == 1
    assert stats["formats"]["live"]["visitors"] >= 1
    await viewer.close()
    # On a shared link one device is one visitor, however often it reconnects
    for _ in range(2):
        c = await server.client(shared_token, namespace="/replay", device="device-of-ann")
        await c.close()
    other = await server.client(shared_token, namespace="/replay", device="device-of-bob")
    status, body = await http("GET", f"{base}/events/{event.id}/stats", key)
    assert body["stats"]["formats"]["replay"]["visitors"] == 3
    await other.close()
    zoe_identity = server.tribune.tokens.verify(zoe_token).invitation
    for _ in range(100):  # each closes when its connection does
        records = await sessions.all_sessions(store, event.id)
        replays = [r for r in records if r.format == "replay"]
        if len(replays) == 4 and all(r.end is not None for r in replays):
            break
        await asyncio.sleep(0.05)
    assert len(replays) == 4 and all(r.end is not None for r in replays), replays
    by_identity = {r.identity for r in replays}
    assert zoe_identity in by_identity and len(by_identity) == 3

    # The thank-you mails carry each reader's replay link, which opens the replay
    # the registration, the thank-you, the certificate, two "the replay is available"
    await smtp.inbox.wait(5)
    [thanks] = smtp.inbox.to("pat@acme.test")[-1:]
    text = body_of(thanks)
    assert f"/replay/{event.id}#t=" in text
    link = text.split(f"/replay/{event.id}#t=", 1)[1].split()[0]
    assert (await http("GET", f"{base}/replay/{event.id}", link))[0] == 200
    [cert_mail] = [m for m in smtp.inbox.to("zoe@example.org") if "certificate" in m["Subject"]]
    assert f"/replay/{event.id}#t=" in body_of(cert_mail)

    # The audience (the registrant, the invited attendee) is mailed its own replay link
    # once; the presenter has his in the thank-you; shared links are mailed nothing
    for address, inv_id in (("zoe@example.org", zoe_identity), ("ian@acme.test", ian_inv.id)):
        [mail] = [m for m in smtp.inbox.to(address) if "replay is available" in m["Subject"]]
        own = body_of(mail).split(f"/replay/{event.id}#t=", 1)[1].split()[0]
        assert server.tribune.tokens.verify(own).invitation == inv_id
        assert (await http("GET", f"{base}/replay/{event.id}", own))[0] == 200
    assert not [m for m in smtp.inbox.to("pat@acme.test") if "replay is" in m["Subject"]]
    assert len(smtp.inbox.messages) == 5, [(m["To"], m["Subject"]) for m in smtp.inbox.messages]

    # A re-issued link no longer opens it, nor the /replay namespace
    await ev.reissue(store, event, pres_inv.id)
    status, body = await http("GET", f"{base}/replay/{event.id}", link)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    with pytest.raises(Refused) as refused:
        await server.client(link, namespace="/replay")
    assert refused.value.code == "unauthorized"
    for c in (org, manager, zoe):
        await c.close()


async def test_an_event_without_a_recording_stays_ended_and_has_no_replay(mem_server):
    s = await mem_server.setup()
    org = await s.join("organizer")
    assert (await org.call("event.start"))["ok"]
    assert (await org.call("event.end")) == {"ok": True, "state": "ended"}
    status, body = await http(
        "GET", f"{mem_server.url}/api/v1/replay/{s.event.id}", s.tokens["participant"]
    )
    assert status == 404 and body["error"]["code"] == "not_found"
    assert body["error"]["message"] == "this event has no replay"
    with pytest.raises(Refused) as refused:
        await mem_server.client(s.tokens["participant"], namespace="/replay")
    assert refused.value.code == "not_found"
    await org.close()
