"""Short-lived keys carry TTLs (issue 10, "bounded storage"), on both store backends: the
`expire` primitive itself, each short-lived key of the domain, and the embedded store
keeping (and forgetting) TTLs across a restart. TTLs are tiny, injected by parameters."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from room import keys, ratelimit
from room.accounts import logins
from room.audience.outbox import Outbox
from room.presence import identities
from room.ratelimit import Backoff, Rate
from room.records import Invitation
from room.store import Store
from room.store_memory import MemoryStore
from room.types import Role
from signaling.smtp import transport_for
from tests.room.accounts.test_logins import organizer

SHORT = 0.3
"""Seconds a key lives in these tests."""


async def gone(store: Store, key: str, hashed: bool = False) -> bool:
    """Whether `key` (a value, or a hash) vanished within a generous deadline."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not (await store.hlen(key) if hashed else await store.get(key) is not None):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_expire_and_set_with_a_ttl(store: Store) -> None:
    await store.set("plain", b"1", ttl=SHORT)
    await store.hset("hash", "f", b"1")
    assert await store.expire("hash", SHORT)
    await store.rpush("list", b"x")
    assert await store.expire("list", SHORT)
    await store.set("kept", b"1", ttl=SHORT)
    await store.set("kept", b"2")  # a plain set forgets the TTL, as in Redis
    await store.set("lasting", b"1")
    assert not await store.expire("missing", SHORT)
    assert await store.get("plain") == b"1" and await store.hget("hash", "f") == b"1"
    await asyncio.sleep(SHORT + 0.3)
    assert await store.get("plain") is None
    assert await store.hgetall("hash") == {} and await store.hget("hash", "f") is None
    assert await store.lrange("list") == []
    assert await store.get("kept") == b"2" and await store.get("lasting") == b"1"
    assert await store.set_nx("plain", b"again")  # an expired key is absent


async def test_the_store_clock(store: Store) -> None:
    assert abs(await store.now() - time.time()) < 5


async def test_attempt_buckets_expire_once_full_again(store: Store) -> None:
    rate = Rate(burst=2, every=SHORT / 2)  # full again SHORT seconds after the last action
    for scope in (keys.login_ip_scope("10.0.0.1"), keys.register_ip_scope("10.0.0.1")):
        await ratelimit.slow_down(store, scope, rate)
        assert await store.hget(keys.attempts(scope), ratelimit.BUCKET) is not None
        assert await gone(store, keys.attempts(scope), hashed=True)
    backoff = Backoff(free=1, first=1.0, cap=2.0, forget=SHORT)
    scope = keys.login_email_scope("ada@example.org")
    await ratelimit.fail(store, scope, backoff)
    assert await ratelimit.failures(store, scope, backoff) == 1
    assert await gone(store, keys.attempts(scope), hashed=True)
    assert await ratelimit.failures(store, scope, backoff) == 0


async def test_a_refused_attempt_keeps_its_bucket_until_it_is_full(store: Store) -> None:
    rate = Rate(burst=1, every=SHORT)
    scope = keys.identity_ip_scope("10.0.0.2")
    inv = Invitation(id="inv1", event_id="ev1", role=Role.PARTICIPANT, shared=True)
    await identities.issue(store, inv, "10.0.0.2", rate)
    assert not await ratelimit.allow(store, scope, rate)  # over: the bucket must stay
    assert await store.hget(keys.attempts(scope), ratelimit.BUCKET) is not None
    await asyncio.sleep(SHORT + 0.2)
    assert await ratelimit.allow(store, scope, rate)


async def test_sign_in_links_and_logins_expire(store: Store) -> None:
    user = await organizer(store)
    token = await logins.issue_magic_link(store, user, ttl=SHORT)
    login = await logins.open_login(store, user, ttl=SHORT)
    digests = [logins._digest(token), logins._digest(login)]
    assert await store.get(keys.magic_link(digests[0])) is not None
    assert await gone(store, keys.magic_link(digests[0]))
    assert await gone(store, keys.login(digests[1]))
    assert await logins.user_of_login(store, login) is None


async def test_delivered_mail_expires(
    store: Store, tmp_path: Path
) -> None:
    outbox = Outbox(store, transport_for(None, tmp_path), "t@example.org", keep=SHORT)
    assert await outbox.enqueue("thanks:e1:ann@example.org", "ann@example.org", "Hi", "Body")
    assert not await outbox.enqueue("thanks:e1:ann@example.org", "ann@example.org", "Hi", "x")
    assert await outbox.deliver_due() == 1
    sent = await outbox.get("thanks:e1:ann@example.org")
    assert sent is not None and sent.sent_at is not None
    assert await store.hgetall(keys.MAIL_MESSAGES) == {}  # out of the queue's hash
    assert await gone(store, keys.mail_done(sent.id))
    assert await outbox.get("thanks:e1:ann@example.org") is None
    # the idempotency key stays (it goes with its event): still sent once
    assert not await outbox.enqueue("thanks:e1:ann@example.org", "ann@example.org", "Hi", "x")


async def test_the_embedded_store_keeps_and_forgets_ttls_across_restarts(tmp_path: Path) -> None:
    a = MemoryStore(tmp_path)
    await a.start()
    await a.set("short", b"1", ttl=1.0)
    await a.set("cleared", b"1", ttl=1.0)
    await a.set("cleared", b"2")
    await a.hset("h", "f", b"1")
    await a.expire("h", 1.0)
    await a.close()
    b = MemoryStore(tmp_path)
    await b.start()
    assert await b.get("short") == b"1" and await b.hget("h", "f") == b"1"
    await asyncio.sleep(1.2)
    assert await b.get("short") is None and await b.hget("h", "f") is None
    assert await b.get("cleared") == b"2"
    await b.hset("h", "g", b"new")  # a new hash under the expired name lasts
    await b.close()
    c = MemoryStore(tmp_path)
    await c.start()
    assert await c.get("short") is None and await c.hgetall("h") == {"g": b"new"}
    await c.close()
