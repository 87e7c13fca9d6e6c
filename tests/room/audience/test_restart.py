"""Everything the audience side keeps lives in the store and survives a restart (both backends)."""

from __future__ import annotations

from room import events as ev
from room.accounts import logins, users
from room.accounts.account import create_account
from room.audience import access, certificates, registration, sessions
from room.audience.outbox import Outbox
from room.event_settings import SettingsChange
from room.records import Plan
from room.store_memory import MemoryStore
from room.store_redis import RedisStore
from room.types import AccessMode
from signaling.smtp import DirectoryTransport
from tests.room.audience.helpers import PASSWORD


async def test_audience_data_survives_a_restart(backend, request, tmp_path):
    def open_store():
        if backend == "redis":
            return RedisStore(request.getfixturevalue("redis_url"))
        return MemoryStore(tmp_path / "data")

    store = open_store()
    await store.start()
    account, _ = await create_account(store, "Acme", Plan())
    event = await ev.create_event(
        store,
        account,
        ev.EventCreate(
            title="Kept",
            access_mode=AccessMode.REGISTRATION,
            settings=SettingsChange(certificate={"enabled": True}),
        ),
    )
    reg, _ = await registration.register(
        store, event, registration.RegistrationForm(email="ann@example.org", name="Ann")
    )
    await access.add_guest(store, event, "bob@example.org", "Bob", "org")
    await sessions.open_session(store, event.id, "sid1", reg.invitation_id, at=10.0)
    await sessions.close_connection(store, event.id, "sid1", at=70.0)
    user = await users.create_user(
        store, account, "org@acme.test", "Org", users.UserKind.ORGANIZER, PASSWORD
    )
    login = await logins.open_login(store, user)
    cert = await certificates.issue(store, event, reg, 60.0)
    outbox = Outbox(store, DirectoryTransport(tmp_path / "outbox"), "t@x.org")
    await outbox.enqueue("k", "ann@example.org", "S", "T")
    await store.close()

    store = open_store()
    await store.start()
    try:
        assert (await registration.get(store, event.id, "ann@example.org")).id == reg.id
        assert (await access.get_guest(store, event.id, "bob@example.org")).name == "Bob"
        [record] = await sessions.all_sessions(store, event.id)
        assert (record.start, record.end) == (10.0, 70.0)
        assert (await logins.user_of_login(store, login)).id == user.id
        assert (await logins.verify_login(store, "org@acme.test", PASSWORD)).id == user.id
        assert (await certificates.load(store, event.id, cert.id)).email == "ann@example.org"
        outbox = Outbox(store, DirectoryTransport(tmp_path / "outbox"), "t@x.org")
        assert await outbox.deliver_due() == 1  # still queued after the restart
        assert [a.action for a in await access.activity(store, event.id)] == ["guest.added"]
    finally:
        await store.close()
