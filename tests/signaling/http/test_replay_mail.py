"""The replay mail through real servers and a real SMTP server: an event on demand whose
mails were never queued (its node stopped) is mailed by the next node to start, once; an
event whose `replay_mail` setting is off is mailed nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from room import events as ev
from room import keys, lifecycle
from room.audience import follow_up
from room.audience.outbox import Outbox
from room.events import change_event
from room.types import Role
from signaling.smtp import DirectoryTransport
from tests.helpers import Server, http
from tests.room.audience.helpers import body_of
from tests.room.audience.smtp import SmtpServer


@pytest.fixture
async def smtp():
    server = await SmtpServer().start()
    yield server
    await server.stop()


async def test_the_next_node_mails_the_replay_once_unless_the_setting_is_off(
    make_server, redis_url: str, smtp, tmp_path: Path
) -> None:
    a: Server = await make_server(redis_url=redis_url, smtp_url=smtp.url)  # every node mails
    store = a.tribune.store
    account, key = await a.account()
    mailed, quiet = await a.event(account, title="Mailed"), await a.event(account, title="Quiet")
    status, body = await http(
        "PATCH", f"{a.url}/api/v1/events/{quiet.id}", key, {"settings": {"replay_mail": False}}
    )
    assert status == 200 and body["settings"] == {"replay_mail": False}, body
    status, body = await http(
        "PATCH", f"{a.url}/api/v1/events/{quiet.id}", key, {"settings": {"replay_mail": "no"}}
    )
    assert status == 400 and body["error"]["field"] == "settings.replay_mail", body
    people = {}
    for event in (mailed, quiet):
        for email in ("Ann@Example.org", "ann@example.org", "bob@example.org"):
            people[event.id, email] = await ev.invite(
                store, event, ev.InvitationCreate(role=Role.PARTICIPANT, name="A", email=email)
            )
        await ev.invite(  # staff are not mailed the replay
            store, event, ev.InvitationCreate(role=Role.COLLABORATOR, email="col@example.org")
        )
        await change_event(store, event.id, lifecycle.finish)
        await change_event(store, event.id, lifecycle.offer_replay)  # on demand
    assert set(await follow_up.replay_pending(store)) == {mailed.id, quiet.id}

    b: Server = await make_server(redis_url=redis_url, smtp_url=smtp.url)
    await smtp.inbox.wait(2)
    for _ in range(200):  # the catch-up marks both events done
        if not await follow_up.replay_pending(store):
            break
        await asyncio.sleep(0.05)
    assert await follow_up.replay_pending(store) == []
    assert await store.get(keys.replay_mailed(quiet.id)) == b"1"
    for email in ("ann@example.org", "bob@example.org", "col@example.org"):  # nothing queued
        assert await store.hget(keys.MAIL_KEYS, keys.replay_mail(quiet.id, email)) is None
    assert await store.hget(keys.MAIL_KEYS, keys.replay_mail(mailed.id, "col@example.org")) is None
    # one mail per person (the same address in two cases is one person), none for Quiet
    assert sorted(m["To"] for m in smtp.inbox.messages) == ["Ann@Example.org", "bob@example.org"]
    for mail in smtp.inbox.messages:
        assert mail["Subject"] == "The replay is available: Mailed"
        link = body_of(mail).split(f"/replay/{mailed.id}#t=", 1)[1].split()[0]
        assert b.tribune.tokens.verify(link).invitation == people[mailed.id, mail["To"]].id
        assert (await http("GET", f"{b.url}/api/v1/replay/{mailed.id}", link))[0] == 200

    # Mailing again (another node's hook, a restart) queues nothing more
    outbox = Outbox(store, DirectoryTransport(tmp_path / "mail"), "e@acme.test")  # never started
    link = lambda inv: "unused"  # noqa: E731
    assert await follow_up.replay_mail(store, outbox, mailed.id, link) == 0
    await store.delete(keys.replay_mailed(mailed.id))
    assert await follow_up.replay_mail(store, outbox, mailed.id, link) == 0  # the outbox keys
