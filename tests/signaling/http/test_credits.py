"""The credits plan over HTTP: the owner buys, makes clients and allocates; others read or
are refused; bad input changes nothing; registrations consume credits (409
`insufficient_credits` when too few are left, a warning on the dashboard); the ledger
exports to CSV and XLSX."""

from __future__ import annotations

import asyncio

import aiohttp

from room import keys
from room.accounts.users import UserKind, create_user
from room.records import encode
from tests.helpers import Server, http
from tests.room.audience.helpers import PASSWORD, Web, organizer
from tests.signaling.http.test_exports import fetch, parse_csv, parse_xlsx


async def make_owner(server: Server, account, email: str = "boss@acme.test") -> Web:
    """A dashboard login of the account's owner."""
    store = server.tribune.store
    user = await create_user(store, account, email, "Bea Boss", UserKind.ORGANIZER, PASSWORD)
    user.owner = True
    await store.hset(keys.USERS, user.id, encode(user))
    web = Web(server.url)
    assert (await web.login(email))[0] == 200
    return web


async def test_the_owner_buys_makes_a_client_allocates_and_reads_the_ledger(server: Server):
    _account, key, _ = await organizer(server)
    api = server.url + "/api/v1"
    status, start = await http("GET", f"{api}/credits", key)
    assert status == 200, start
    assert start["unallocated"] == 0
    assert [(c["id"], c["own"], c["balance"]) for c in start["clients"]] == [("own", True, 0)]
    assert start["prices"]["currency"] == "EUR"
    assert start["prices"]["tiers"][0] == {"min_credits": 1, "unit_cents": 50}
    assert start["owner"] is True  # the API key
    status, q = await http("POST", f"{api}/credits/quote", key, {"credits": 500})
    assert (status, q["quote"]["total_cents"]) == (200, 20_000)

    status, bought = await http("POST", f"{api}/credits/purchases", key, {"credits": 600})
    assert status == 201, bought
    assert bought["purchase"]["credits"] == 600
    assert bought["purchase"]["total_cents"] == 24_000
    assert bought["invoice"]["total_cents"] == 24_000 and bought["invoice"]["status"] == "due"
    assert bought["balance"] == {"unallocated": 600}

    status, made = await http("POST", f"{api}/clients", key, {"name": "Beta Corp"})
    assert status == 201, made
    client = made["client"]
    assert (client["name"], client["balance"]) == ("Beta Corp", 0) and client["id"]
    status, given = await http(
        "POST",
        f"{api}/clients/{client['id']}/credits",
        key,
        {"credits": 120, "reference": "PO-7", "comment": "20 learners"},
    )
    assert status == 201, given
    assert given["client"]["balance"] == 120
    assert given["allocation"]["kind"] == "allocation"
    assert given["allocation"]["reference"] == "PO-7"

    status, listed = await http("GET", f"{api}/clients", key)
    assert [(c["name"], c["balance"]) for c in listed["clients"]] == [
        ("Own client", 0),
        ("Beta Corp", 120),
    ]
    status, ledger = await http("GET", f"{api}/clients/{client['id']}/ledger", key)
    assert status == 200
    assert [(e["kind"], e["credits"]) for e in ledger["ledger"]] == [("allocation", 120)]
    status, own = await http("GET", f"{api}/clients/own/ledger", key)
    assert (status, own["ledger"], own["client"]["own"]) == (200, [], True)
    status, after = await http("GET", f"{api}/credits", key)
    assert after["unallocated"] == 480
    status, latest = await http("GET", f"{api}/credits/ledger?limit=1", key)
    assert [e["kind"] for e in latest["ledger"]] == ["allocation"]  # the newest first
    status, latest = await http("GET", f"{api}/credits/ledger?offset=1", key)
    assert [e["kind"] for e in latest["ledger"]] == ["purchase"]


async def test_only_the_owner_buys_makes_clients_and_allocates(server: Server):
    account, key, _ = await organizer(server)
    org = Web(server.url)
    boss = await make_owner(server, account)
    try:
        assert (await org.login("org@acme.test"))[0] == 200
        status, seen = await org.call("GET", "/api/v1/credits")  # an organizer reads
        assert (status, seen["owner"]) == (200, False)
        assert (await boss.call("GET", "/api/v1/credits"))[1]["owner"] is True
        for path, payload in (
            ("/api/v1/credits/purchases", {"credits": 10}),
            ("/api/v1/clients", {"name": "X"}),
            ("/api/v1/clients/own/credits", {"credits": 1}),
        ):
            status, answer = await org.call("POST", path, payload)
            assert (status, answer["error"]["code"]) == (403, "forbidden"), path
        status, bought = await boss.call("POST", "/api/v1/credits/purchases", {"credits": 10})
        assert status == 201, bought
        status, given = await boss.call("POST", "/api/v1/clients/own/credits", {"credits": 4})
        assert (status, given["client"]["balance"]) == (201, 4)
        status, _ = await http("GET", server.url + "/api/v1/credits", key)
        assert status == 200
    finally:
        await org.close()
        await boss.close()


async def test_bad_input_is_refused_and_changes_nothing(server: Server):
    account, key, _ = await organizer(server)
    api = server.url + "/api/v1"
    await http("POST", f"{api}/credits/purchases", key, {"credits": 10})
    _, made = await http("POST", f"{api}/clients", key, {"name": "Beta"})
    cid = made["client"]["id"]
    store = server.tribune.store
    before = [
        await store.hgetall(keys.credit_balances(account.id)),
        await store.hgetall(keys.credit_clients(account.id)),
        await store.lrange(keys.credit_ledger(account.id)),
    ]
    bad_amounts = [0, -1, 1_000_001, 10**30, "5", 1.5, True, None]
    for amount in bad_amounts:
        for path in ("credits/purchases", f"clients/{cid}/credits", "credits/quote"):
            status, answer = await http("POST", f"{api}/{path}", key, {"credits": amount})
            assert (status, answer["error"]["code"]) == (400, "invalid"), (path, amount, answer)
            assert answer["error"]["field"] == "credits"
    for payload in ({}, {"credits": 1, "extra": 1}, {"name": ""}, {"name": "x" * 201}):
        status, _ = await http("POST", f"{api}/clients", key, payload)
        assert status == 400, payload
    status, answer = await http("POST", f"{api}/clients/cli_nobody/credits", key, {"credits": 1})
    assert (status, answer["error"]["code"]) == (404, "not_found")
    status, answer = await http("GET", f"{api}/clients/cli_nobody/ledger", key)
    assert (status, answer["error"]["code"]) == (404, "not_found")
    status, answer = await http("POST", f"{api}/clients/{cid}/credits", key, {"credits": 11})
    assert (status, answer["error"]["code"]) == (409, "conflict")
    assert "only 10 credits are unallocated" in answer["error"]["message"]
    after = [
        await store.hgetall(keys.credit_balances(account.id)),
        await store.hgetall(keys.credit_clients(account.id)),
        await store.lrange(keys.credit_ledger(account.id)),
    ]
    assert after == before
    for fields, field in (
        ({"client_id": "cli_nobody"}, "client_id"),
        ({"credit_cost": -1}, "credit_cost"),
        ({"credit_cost": 10_001}, "credit_cost"),
    ):
        body = {"title": "x", **fields}
        status, answer = await http("POST", f"{api}/events", key, body)
        assert (status, answer["error"]["field"]) == (400, field), answer


async def test_50_registrations_at_once_against_a_balance_for_20_register_20(server: Server):
    _account, key, _ = await organizer(server)
    api = server.url + "/api/v1"
    await http("POST", f"{api}/credits/purchases", key, {"credits": 60})
    _, made = await http("POST", f"{api}/clients", key, {"name": "Beta"})
    cid = made["client"]["id"]
    await http("POST", f"{api}/clients/{cid}/credits", key, {"credits": 60})
    status, event = await http(
        "POST",
        f"{api}/events",
        key,
        {"title": "Course", "access_mode": "registration", "client_id": cid, "credit_cost": 3},
    )
    assert status == 201, event
    assert (event["client_id"], event["credit_cost"]) == (cid, 3)
    url = f"{api}/public/events/{event['id']}/registrations"

    async with aiohttp.ClientSession() as s:

        async def register(i: int) -> tuple[int, dict]:
            form = {"email": f"p{i}@example.org", "name": f"P {i}"}
            async with s.post(url, json=form) as r:
                return r.status, await r.json()

        answers = await asyncio.gather(*(register(i) for i in range(50)))
    assert sorted(status for status, _ in answers) == [201] * 20 + [409] * 30
    refusals = {a["error"]["code"] for status, a in answers if status == 409}
    assert refusals == {"insufficient_credits"}
    message = next(a["error"]["message"] for status, a in answers if status == 409)
    assert "contact the organizer" in message
    status, regs = await http("GET", f"{api}/events/{event['id']}/registrations", key)
    assert regs["count"] == 20
    status, ledger = await http("GET", f"{api}/clients/{cid}/ledger", key)
    consumed = [e for e in ledger["ledger"] if e["kind"] == "consumption"]
    assert len(consumed) == 20 and {e["credits"] for e in consumed} == {3}
    status, view = await http("GET", f"{api}/dashboard/events/{event['id']}", key)
    assert (view["credits_low"], view["credits_left"]) == (True, 0)
    status, listed = await http("GET", f"{api}/dashboard/events", key)
    assert [e["credits_low"] for e in listed["events"]] == [True]


async def test_the_dashboard_form_sets_the_client_and_the_view_has_no_warning_with_credits(
    mem_server: Server,
):
    _account, key, _ = await organizer(mem_server)
    api = mem_server.url + "/api/v1"
    await http("POST", f"{api}/credits/purchases", key, {"credits": 12})
    await http("POST", f"{api}/clients/own/credits", key, {"credits": 12})
    status, view = await http(
        "POST",
        f"{api}/dashboard/events",
        key,
        {"title": "Course", "access_mode": "registration", "client_id": "own"},
    )
    assert status == 201, view
    assert (view["client_id"], view["credit_cost"], view["credits_low"]) == ("own", 6, False)
    assert view["credits_left"] == 12
    status, view = await http(
        "PATCH", f"{api}/dashboard/events/{view['id']}", key, {"credit_cost": 20}
    )
    assert (status, view["credit_cost"], view["credits_low"]) == (200, 20, True)


async def test_the_ledger_exports_to_csv_and_xlsx(mem_server: Server):
    account, key, _ = await organizer(mem_server)
    api = mem_server.url + "/api/v1"
    await http("POST", f"{api}/credits/purchases", key, {"credits": 600})
    _, made = await http("POST", f"{api}/clients", key, {"name": "=Beta"})
    cid = made["client"]["id"]
    await http("POST", f"{api}/clients/{cid}/credits", key, {"credits": 60, "reference": "PO-1"})
    csv_data, headers = await fetch(mem_server, key, "/api/v1/credits/ledger.csv")
    assert headers["Content-Type"].startswith("text/csv")
    assert f'filename="{account.id}-credits-ledger.csv"' in headers["Content-Disposition"]
    rows = parse_csv(csv_data)
    assert rows[0][:5] == ["at", "kind", "credits", "client_id", "client"]
    assert [r[1:6] for r in rows[1:]] == [
        ["purchase", "600", "", "", ""],
        ["allocation", "60", cid, "'=Beta", "PO-1"],
    ]
    assert rows[1][11:13] == ["24000", "EUR"]
    xlsx_data, _ = await fetch(mem_server, key, "/api/v1/credits/ledger.xlsx")
    sheet = parse_xlsx(xlsx_data)
    assert [r[1:6] for r in sheet[1:]] == [
        ["purchase", 600, None, None, None],
        ["allocation", 60, cid, "=Beta", "PO-1"],
    ]
    status, answer = await http("GET", f"{api}/credits/ledger.pdf", key)
    assert (status, answer["error"]["code"]) == (400, "invalid")
