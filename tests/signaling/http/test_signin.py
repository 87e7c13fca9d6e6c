"""Dashboard sign-in: passwords, one-time links, cookies, brute force, and who sees what."""

from __future__ import annotations

import re

import pytest

from room import keys, ratelimit
from room.accounts import logins, users
from room.accounts.users import UserKind, create_user
from room.ratelimit import RATES, Backoff
from tests.helpers import http
from tests.room.audience.helpers import PASSWORD, Web, body_of, organizer, wait_for_mail


@pytest.fixture
async def web(mem_server):
    w = Web(mem_server.url)
    yield w
    await w.close()


async def test_password_login_sets_a_secure_cookie_and_me_answers(server):
    _, _, user = await organizer(server)
    stored = await users.get_user(server.tribune.store, user.id)
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    web = Web(server.url)
    try:
        status, body = await web.login("ORG@acme.test")
        assert status == 200 and body["user"]["email"] == "org@acme.test"
        assert "password_hash" not in body["user"] and PASSWORD not in str(body)
        async with web.session.post(
            server.url + "/api/v1/auth/login",
            json={"email": "org@acme.test", "password": PASSWORD},
            headers={"X-Requested-With": "tribune"},
        ) as r:
            cookie = r.headers["Set-Cookie"]
        assert cookie.startswith("tribune_login=")
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
        status, me = await web.call("GET", "/api/v1/me")
        assert status == 200 and me["user"]["kind"] == "organizer"
        assert "manage_account" in me["can"]
        status, _ = await web.call("POST", "/api/v1/auth/logout")
        assert status == 200
        status, body = await web.call("GET", "/api/v1/me")
        assert status == 401 and body["error"]["code"] == "unauthorized"
    finally:
        await web.close()


async def test_the_cookie_is_secure_behind_https(make_server):
    server = await make_server(public_url="https://tribune.example")
    await organizer(server)
    web = Web(server.url)
    try:
        async with web.session.post(
            server.url + "/api/v1/auth/login",
            json={"email": "org@acme.test", "password": PASSWORD},
            headers={"X-Requested-With": "tribune"},
        ) as r:
            assert "Secure" in r.headers["Set-Cookie"]
    finally:
        await web.close()


async def test_wrong_password_and_unknown_email_look_the_same(mem_server, web):
    await organizer(mem_server)
    wrong = await web.login("org@acme.test", "not the password")
    unknown = await web.login("nobody@acme.test", "not the password")
    assert wrong == unknown
    assert wrong[0] == 401 and wrong[1]["error"]["code"] == "unauthorized"
    assert (await web.call("GET", "/api/v1/me"))[0] == 401


FAST = Backoff(free=3, first=0.01, cap=0.05, forget=90.0)
"""The login backoff of these tests: the real one's shape, with waits a test can afford."""


async def login_from(web: Web, address: str, email: str, password: str = PASSWORD):
    """A password sign-in relayed by a proxy for the client at `address`."""
    payload = {"email": email, "password": password}
    return await web.call(
        "POST", "/api/v1/auth/login", payload, headers={"X-Forwarded-For": address}
    )


async def test_wrong_passwords_in_someone_elses_name_never_lock_him_out(make_server):
    server = await make_server(trusted_proxies=["127.0.0.1/32"], login_backoff=FAST)
    await organizer(server)
    attacker, owner = Web(server.url), Web(server.url)
    try:
        codes = [
            (await login_from(attacker, f"198.51.100.{i}", "org@acme.test", f"guess {i}"))[0]
            for i in range(20)
        ]
        assert codes == [401] * 20  # slowed, never refused
        assert (await attacker.call("GET", "/api/v1/me"))[0] == 401
        # the owner's next attempt waits (the backoff is at its cap) ...
        scope = keys.login_email_scope("org@acme.test")
        store = server.tribune.store
        assert await ratelimit.backoff_delay(store, scope, FAST) == FAST.cap
        # ... and then gets in, which forgets the failures
        status, me = await login_from(owner, "203.0.113.50", "org@acme.test")
        assert status == 200 and me["user"]["email"] == "org@acme.test"
        assert await ratelimit.failures(store, scope, FAST) == 0
    finally:
        await attacker.close()
        await owner.close()


async def test_one_address_is_still_limited(make_server):
    server = await make_server(login_backoff=FAST)
    await organizer(server)
    web = Web(server.url)
    try:
        codes = [(await web.login(f"guess{i}@acme.test", "wrong password"))[0] for i in range(31)]
        assert codes[:30] == [401] * 30 and codes[30] == 429
        status, body = await web.login("org@acme.test")  # this address waits now
        assert status == 429 and body["error"]["code"] == "rate_limited"
    finally:
        await web.close()


async def test_a_malformed_login_spends_no_attempt(mem_server, web):
    await organizer(mem_server)
    malformed = [
        {"email": "org@acme.test", "password": ""},
        {"email": "not an address", "password": "a long enough guess"},
        {"email": "org@acme.test"},
        {"email": "org@acme.test", "password": 12345678901},
        {"email": "org@acme.test", "password": "x", "extra": 1},
    ]
    for i in range(35):  # more than the 30 attempts an address has
        status, body = await web.call("POST", "/api/v1/auth/login", malformed[i % 5])
        assert status == 400 and body["error"]["code"] == "invalid", body
    status, _ = await web.call(
        "POST", "/api/v1/auth/login", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert status == 400
    scope = keys.login_email_scope("org@acme.test")
    assert await ratelimit.failures(mem_server.tribune.store, scope, RATES.login_backoff) == 0
    assert (await web.login("org@acme.test"))[0] == 200


async def test_behind_a_trusted_proxy_each_client_has_its_own_limits(make_server):
    server = await make_server(trusted_proxies=["127.0.0.0/8"])
    web = Web(server.url)

    async def ask(address: str, i: int) -> int:
        payload = {"email": f"n{i}@acme.test"}
        headers = {"X-Forwarded-For": address}
        return (await web.call("POST", "/api/v1/auth/magic", payload, headers=headers))[0]

    try:
        # what the client writes left of the proxy's own entry changes nothing
        codes = [await ask(f"192.0.2.{i}, 203.0.113.1", i) for i in range(31)]
        assert codes[:30] == [200] * 30 and codes[30] == 429
        assert await ask("203.0.113.2", 99) == 200  # another client of the same proxy
        assert await ask("192.0.2.77, 203.0.113.1", 100) == 429
    finally:
        await web.close()


async def test_an_untrusted_peers_forwarded_for_is_ignored(make_server):
    server = await make_server(trusted_proxies=["10.0.0.0/8"])
    web = Web(server.url)
    try:
        codes = [
            (
                await web.call(
                    "POST",
                    "/api/v1/auth/magic",
                    {"email": f"n{i}@acme.test"},
                    headers={"X-Forwarded-For": f"198.51.100.{i}"},
                )
            )[0]
            for i in range(31)
        ]
        assert codes[:30] == [200] * 30 and codes[30] == 429
    finally:
        await web.close()


async def test_magic_link_signs_in_once(mem_server, web):
    await organizer(mem_server)
    status, body = await web.call("POST", "/api/v1/auth/magic", {"email": "org@acme.test"})
    assert status == 200 and "sign-in link" in body["message"]
    unknown = await web.call("POST", "/api/v1/auth/magic", {"email": "nobody@acme.test"})
    assert unknown == (status, body)
    [mail] = await wait_for_mail(mem_server, "org@acme.test")
    link = re.search(r"(http\S+/login#magic=(\S+))", body_of(mail))
    assert link and link.group(1).startswith(mem_server.url)
    token = link.group(2)
    status, body = await web.call("POST", "/api/v1/auth/magic/consume", {"token": token})
    assert status == 200 and body["user"]["email"] == "org@acme.test"
    assert (await web.call("GET", "/api/v1/me"))[0] == 200
    other = Web(mem_server.url)
    try:
        status, body = await other.call("POST", "/api/v1/auth/magic/consume", {"token": token})
        assert status == 401 and "already used" in body["error"]["message"]
        assert (await other.call("GET", "/api/v1/me"))[0] == 401
    finally:
        await other.close()


async def test_an_expired_magic_link_is_refused(mem_server, web):
    _, _, user = await organizer(mem_server)
    token = await logins.issue_magic_link(mem_server.tribune.store, user, ttl=-1)
    status, body = await web.call("POST", "/api/v1/auth/magic/consume", {"token": token})
    assert status == 401 and "expired" in body["error"]["message"]


async def test_cookie_writes_need_the_dashboard_header(mem_server, web):
    await organizer(mem_server)
    await web.login("org@acme.test")
    status, body = await web.call("POST", "/api/v1/dashboard/events", {"title": "X"}, csrf=False)
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, _ = await web.call("POST", "/api/v1/dashboard/events", {"title": "X"})
    assert status == 201


async def test_collaborators_see_only_their_events_and_no_account_pages(server):
    _account, _key, _ = await organizer(server)
    org = Web(server.url)
    collab = Web(server.url)
    try:
        await org.login("org@acme.test")
        _, mine = await org.call("POST", "/api/v1/dashboard/events", {"title": "Mine"})
        _, other = await org.call("POST", "/api/v1/dashboard/events", {"title": "Not yours"})
        status, added = await org.call(
            "POST",
            f"/api/v1/events/{mine['id']}/collaborators",
            {"email": "col@acme.test", "name": "Cole"},
        )
        assert status == 201 and added["user"]["kind"] == "collaborator"
        await users.set_password(
            server.tribune.store,
            await users.user_by_email(server.tribune.store, "col@acme.test"),
            PASSWORD,
        )
        assert (await collab.login("col@acme.test"))[0] == 200
        status, listed = await collab.call("GET", "/api/v1/dashboard/events")
        assert [e["title"] for e in listed["events"]] == ["Mine"]
        assert listed["events"][0]["role"] == "collaborator"
        assert (await collab.call("GET", f"/api/v1/dashboard/events/{mine['id']}"))[0] == 200
        assert (await collab.call("GET", f"/api/v1/events/{mine['id']}/stats"))[0] == 200
        for method, path, payload in [
            ("GET", f"/api/v1/dashboard/events/{other['id']}", None),
            ("GET", f"/api/v1/events/{other['id']}/registrations", None),
            ("GET", f"/api/v1/events/{other['id']}/exports/sessions.csv", None),
            ("GET", f"/api/v1/events/{other['id']}/stats", None),
            ("POST", f"/api/v1/events/{other['id']}/links", None),
        ]:
            status, body = await collab.call(method, path, payload)
            assert status == 404 and body["error"]["code"] == "not_found", path
        for method, path, payload in [
            ("POST", "/api/v1/dashboard/events", {"title": "Sneaky"}),
            ("GET", "/api/v1/account/users", None),
            ("POST", "/api/v1/account/users", {"email": "x@acme.test"}),
            ("PATCH", f"/api/v1/dashboard/events/{mine['id']}", {"title": "Renamed"}),
            ("POST", f"/api/v1/events/{mine['id']}/guests", {"email": "g@acme.test"}),
            ("PUT", f"/api/v1/events/{mine['id']}/direct-link", {"enabled": True}),
            ("POST", f"/api/v1/events/{mine['id']}/collaborators", {"email": "y@acme.test"}),
        ]:
            status, body = await collab.call(method, path, payload)
            assert status == 403 and body["error"]["code"] == "forbidden", path
        # his own link opens the manager as a collaborator
        status, links = await collab.call("POST", f"/api/v1/events/{mine['id']}/links")
        assert status == 200 and "/manage/" in links["manage"]
        claims = server.tribune.tokens.verify(links["token"])
        assert claims.role == "collaborator" and claims.event_id == mine["id"]
    finally:
        await org.close()
        await collab.close()


async def test_another_accounts_organizer_sees_nothing(mem_server, web):
    await organizer(mem_server)
    account2, _ = await mem_server.account("Rival")
    await create_user(
        mem_server.tribune.store, account2, "rival@rival.test", "R", UserKind.ORGANIZER, PASSWORD
    )
    await web.login("org@acme.test")
    _, mine = await web.call("POST", "/api/v1/dashboard/events", {"title": "Mine"})
    rival = Web(mem_server.url)
    try:
        await rival.login("rival@rival.test")
        status, _ = await rival.call("GET", f"/api/v1/dashboard/events/{mine['id']}")
        assert status == 404
        assert (await rival.call("GET", "/api/v1/dashboard/events"))[1]["events"] == []
    finally:
        await rival.close()


async def test_api_key_creates_dashboard_users(mem_server):
    _account, key = await mem_server.account()
    web = Web(mem_server.url)
    try:
        status, body = await web.call(
            "POST",
            "/api/v1/account/users",
            {"email": "new@acme.test", "name": "New", "password": PASSWORD},
            csrf=False,
            headers={"Authorization": f"Bearer {key}"},
        )
        assert status == 201 and body["user"]["has_password"] is True
        status, body = await web.call(
            "POST",
            "/api/v1/account/users",
            {"email": "NEW@acme.test"},
            csrf=False,
            headers={"Authorization": f"Bearer {key}"},
        )
        assert status == 409
        status, body = await web.call(
            "POST",
            "/api/v1/account/users",
            {"email": "short@acme.test", "password": "short"},
            csrf=False,
            headers={"Authorization": f"Bearer {key}"},
        )
        assert status == 400 and body["error"]["field"] == "password"
        assert (await web.login("new@acme.test"))[0] == 200
    finally:
        await web.close()


async def test_a_cross_site_form_cannot_sign_anyone_in_or_out(mem_server, web):
    """Login CSRF: a page of another site posts a form (it cannot add headers) to sign the
    victim into the attacker's account, or out of his own."""
    await organizer(mem_server)
    url = mem_server.url + "/api/v1/auth/login"
    # enctype="text/plain" lets a form send a body that is valid JSON
    crafted = '{"email": "org@acme.test", "password": "' + PASSWORD + '", "x": "="}'
    forged = '{"email": "org@acme.test", "password": "' + PASSWORD + '"}'
    for data, ctype in [
        (forged, "text/plain"),
        (crafted, "text/plain"),
        ("email=org%40acme.test&password=x", "application/x-www-form-urlencoded"),
        (forged, "application/json"),  # a script without the header
    ]:
        async with web.session.post(url, data=data, headers={"Content-Type": ctype}) as r:
            answer = await r.json()
            assert r.status == 403 and answer["error"]["code"] == "forbidden", (ctype, answer)
            assert "Set-Cookie" not in r.headers
    assert (await web.call("GET", "/api/v1/me"))[0] == 401
    for path, payload in [
        ("/api/v1/auth/magic", {"email": "org@acme.test"}),
        ("/api/v1/auth/magic/consume", {"token": "x" * 40}),
    ]:
        status, answer = await web.call("POST", path, payload, csrf=False)
        assert status == 403 and answer["error"]["code"] == "forbidden", path
    # the header alone is not enough: the body must be declared JSON
    async with web.session.post(
        url, data=forged, headers={"Content-Type": "text/plain", "X-Requested-With": "tribune"}
    ) as r:
        answer = await r.json()
        assert r.status == 400 and answer["error"]["code"] == "invalid"
        assert "application/json" in answer["error"]["message"]
    # the page's own requests still work; a forged logout does not end the login
    assert (await web.login("org@acme.test"))[0] == 200
    status, answer = await web.call("POST", "/api/v1/auth/logout", csrf=False)
    assert status == 403 and answer["error"]["code"] == "forbidden"
    assert (await web.call("GET", "/api/v1/me"))[0] == 200
    assert (await web.call("POST", "/api/v1/auth/logout"))[0] == 200
    assert (await web.call("GET", "/api/v1/me"))[0] == 401


async def test_a_password_change_ends_the_users_other_logins(mem_server):
    await organizer(mem_server)
    here, laptop, phone = Web(mem_server.url), Web(mem_server.url), Web(mem_server.url)
    try:
        for w in (here, laptop, phone):
            assert (await w.login("org@acme.test"))[0] == 200
        status, _ = await here.call(
            "POST", "/api/v1/me/password", {"current": PASSWORD, "password": "a brand new secret"}
        )
        assert status == 200
        assert (await here.call("GET", "/api/v1/me"))[0] == 200  # the one that changed it
        for w in (laptop, phone):
            status, body = await w.call("GET", "/api/v1/me")
            assert status == 401 and body["error"]["code"] == "unauthorized"
        assert (await laptop.login("org@acme.test", "a brand new secret"))[0] == 200
        assert (await laptop.call("GET", "/api/v1/me"))[0] == 200
    finally:
        for w in (here, laptop, phone):
            await w.close()


async def test_the_owner_rotates_the_api_key_and_the_old_one_stops_at_once(mem_server):
    _, key, _ = await organizer(mem_server)
    web = Web(mem_server.url)
    try:
        status, body = await http("POST", f"{mem_server.url}/api/v1/account/key", key)
        assert status == 200 and body["api_key"].startswith("trb_")
        by_key = body["api_key"]
        assert (await http("GET", f"{mem_server.url}/api/v1/account", key))[0] == 401
        assert (await http("GET", f"{mem_server.url}/api/v1/account", by_key))[0] == 200
        assert (await web.login("org@acme.test"))[0] == 200  # the owner's dashboard login
        status, body = await web.call("POST", "/api/v1/account/key")
        assert status == 200
        assert (await http("GET", f"{mem_server.url}/api/v1/account", by_key))[0] == 401
        assert (await http("GET", f"{mem_server.url}/api/v1/account", body["api_key"]))[0] == 200
    finally:
        await web.close()
