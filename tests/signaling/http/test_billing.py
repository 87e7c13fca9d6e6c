"""Billing over HTTP (issue 11): the contracts, who may buy, invoices (PDF, mail, payment),
renewal at the server's clock, and limits that change on every node at once."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from room import keys
from room.accounts import plans
from room.accounts.clock import DAY, ManualClock
from room.accounts.users import User, UserKind, create_user
from room.records import Account, encode
from room.store_memory import MemoryStore
from signaling.renewals import renew_now
from signaling.socket.audience import AUDIENCE
from tests.helpers import Refused, Server, http
from tests.room.audience.helpers import PASSWORD, Web, organizer, read_outbox

ROOT = Path(__file__).resolve().parents[3]


async def make_owner(server: Server, user: User) -> None:
    user.owner = True
    await server.tribune.store.hset(keys.USERS, user.id, encode(user))


async def owner_web(server: Server, **plan: int) -> tuple[Account, str, Web]:
    """An account whose owner user is signed in."""
    account, key, user = await organizer(server, "owner@acme.test", **plan)
    await make_owner(server, user)
    web = Web(server.url)
    assert (await web.login("owner@acme.test"))[0] == 200
    return account, key, web


def fix_clock(server: Server, account: Account, days: float) -> float:
    now = plans.cycle_start(account) + days * DAY
    server.tribune.clock = ManualClock(now)
    return now


async def test_the_account_route_keeps_its_fields_and_adds_cycle_and_limits(mem_server) -> None:
    account, key = await mem_server.account(attendees=7)
    status, body = await http("GET", mem_server.url + "/api/v1/account", key)
    assert status == 200
    assert body["id"] == account.id and body["plan"]["attendees"] == 7  # as before
    acc = body["account"]
    assert set(acc) == {"id", "name", "plan", "limits", "usage"}
    assert acc["usage"] == {"recording_bytes": 0}
    assert acc["plan"] == {
        "cycle": "monthly",
        "cycle_start": account.cycle_start,
        "cycle_end": account.cycle_start + 30 * DAY,
    }
    assert acc["limits"] == {
        "attendees": 7,
        "presenter_seats": 4,
        "parallel_events": 1,
        "secondary_accounts": 0,
        "recording_mb": 1024,
        "storage_mb": 1024,
    }


async def test_buy_list_cancel_and_patch_over_http(mem_server) -> None:
    server = mem_server
    account, key, web = await owner_web(server)
    now = fix_clock(server, account, 14.5)
    status, cat = await web.call("GET", "/api/v1/addons/catalogue")
    assert status == 200
    kinds = {a["kind"]: a for a in cat["addons"]}
    assert set(kinds) == {
        "presenter_seats",
        "parallel_events",
        "secondary_accounts",
        "recording_space",
        "storage",
        "certificates",
        "change_username",
    }
    assert all(
        {"kind", "unit_price_cents", "currency", "one_time"} <= set(a) for a in kinds.values()
    )
    assert kinds["change_username"]["one_time"] and not kinds["presenter_seats"]["one_time"]
    unit = kinds["presenter_seats"]["unit_price_cents"]

    status, quote = await web.call(
        "POST", "/api/v1/addons/quote", {"kind": "presenter_seats", "quantity": 5}
    )
    assert status == 200 and quote["quote"]["charged_now_cents"] == round(5 * unit * 16 / 30)
    status, bought = await web.call(
        "POST", "/api/v1/addons", {"kind": "presenter_seats", "quantity": 5}
    )
    assert status == 201, bought
    addon, invoice = bought["addon"], bought["invoice"]
    assert addon["status"] == "active" and addon["quantity"] == 5
    assert addon["price_cycle_cents"] == 5 * unit
    assert addon["charged_now_cents"] == quote["quote"]["charged_now_cents"]
    assert addon["renews_at"] == plans.cycle_end(account)
    assert set(invoice) == {"id", "number", "total_cents", "status"}
    assert invoice["status"] == "due" and invoice["total_cents"] == addon["charged_now_cents"]
    status, body = await http("GET", server.url + "/api/v1/account", key)
    assert body["account"]["limits"]["presenter_seats"] == 9

    status, body = await web.call("PATCH", f"/api/v1/addons/{addon['id']}", {"quantity": 2})
    assert status == 400 and body["error"]["code"] == "invalid"
    status, body = await web.call("DELETE", f"/api/v1/addons/{addon['id']}")
    assert status == 200 and body["addon"]["status"] == "cancelled"
    assert (
        body["addon"]["ends_at"] == plans.cycle_end(account) and body["addon"]["id"] == addon["id"]
    )
    status, listed = await web.call("GET", "/api/v1/addons")
    assert [a["status"] for a in listed["addons"]] == ["cancelled"]
    status, body = await http("GET", server.url + "/api/v1/account", key)
    assert body["account"]["limits"]["presenter_seats"] == 9  # until the cycle end

    # the invoice: listed, a PDF, mailed to the owner
    status, listed = await web.call("GET", "/api/v1/invoices")
    assert status == 200 and [i["id"] for i in listed["invoices"]] == [invoice["id"]]
    assert listed["invoices"][0]["issued_at"] == now
    status, pdf, headers = await web.raw(f"/api/v1/invoices/{invoice['id']}.pdf")
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert f"INV-{invoice['number']:06d}" in text and "Presenter seats" in text
    _, other_key = await server.account("Rival")
    status, body = await http("GET", f"{server.url}/api/v1/invoices/{invoice['id']}.pdf", other_key)
    assert status == 404
    await web.close()


async def test_the_invoice_is_mailed_to_the_owner(make_server) -> None:
    server = await make_server()
    _, _, web = await owner_web(server)
    status, bought = await web.call("POST", "/api/v1/addons", {"kind": "storage", "quantity": 1})
    assert status == 201
    outbox = server.app[AUDIENCE].mail
    await outbox.deliver_due()
    mails = [m for m in read_outbox(server) if "invoice" in m["Subject"].lower()]
    assert [m["To"] for m in mails] == ["owner@acme.test"]
    assert f"INV-{bought['invoice']['number']:06d}" in mails[0]["Subject"]
    await web.close()


async def test_only_the_owner_buys_cancels_or_resizes(mem_server) -> None:
    server = mem_server
    account, key, org_user = await organizer(server)  # an organizer, not the owner
    collab = await create_user(
        server.tribune.store, account, "col@acme.test", "Col", UserKind.COLLABORATOR, PASSWORD
    )
    assert not collab.owner and not org_user.owner
    status, bought = await http(
        "POST", server.url + "/api/v1/addons", key, {"kind": "storage", "quantity": 1}
    )
    assert status == 201  # the API key is the owner
    addon_id = bought["addon"]["id"]
    for email in ("org@acme.test", "col@acme.test"):
        web = Web(server.url)
        assert (await web.login(email))[0] == 200
        for method, path, payload in (
            ("POST", "/api/v1/addons", {"kind": "storage", "quantity": 1}),
            ("DELETE", f"/api/v1/addons/{addon_id}", None),
            ("PATCH", f"/api/v1/addons/{addon_id}", {"quantity": 1}),
        ):
            status, body = await web.call(method, path, payload)
            assert status == 403 and body["error"]["code"] == "forbidden", (email, method, body)
        status, _ = await web.call("GET", "/api/v1/addons")
        assert status == (200 if email.startswith("org") else 403)
        await web.close()
    status, listed = await http("GET", server.url + "/api/v1/addons", key)
    assert [a["status"] for a in listed["addons"]] == ["active"]
    assert len((await http("GET", server.url + "/api/v1/invoices", key))[1]["invoices"]) == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "presenter_seats", "quantity": -2},
        {"kind": "presenter_seats", "quantity": 10**30},
        {"kind": "presenter_seats", "quantity": "3"},
        {"kind": "unicorns", "quantity": 1},
        {"kind": "storage"},
        {"kind": "storage", "quantity": 1, "extra": True},
    ],
)
async def test_bad_purchases_are_invalid_and_buy_nothing(mem_server, payload) -> None:
    _, key = await mem_server.account()
    status, body = await http("POST", mem_server.url + "/api/v1/addons", key, payload)
    assert status == 400 and body["error"]["code"] == "invalid", body
    assert (await http("GET", mem_server.url + "/api/v1/addons", key))[1] == {"addons": []}
    assert (await http("GET", mem_server.url + "/api/v1/invoices", key))[1] == {"invoices": []}


async def test_the_renewal_pass_at_the_servers_clock_invoices_and_mails(make_server) -> None:
    server = await make_server()
    account, key, web = await owner_web(server)
    fix_clock(server, account, 3)
    await web.call("POST", "/api/v1/addons", {"kind": "parallel_events", "quantity": 1})
    _, gone = await web.call("POST", "/api/v1/addons", {"kind": "recording_space", "quantity": 2})
    await web.call("DELETE", f"/api/v1/addons/{gone['addon']['id']}")
    fix_clock(server, account, 29.9)
    assert await renew_now(server.app) == []
    fix_clock(server, account, 30.01)
    made = await renew_now(server.app)
    assert [(i.reason, [line.kind for line in i.lines]) for i in made] == [
        ("renewal", ["parallel_events"])
    ]
    _, listed = await web.call("GET", "/api/v1/addons")
    assert [a["kind"] for a in listed["addons"]] == ["parallel_events"]
    _, body = await http("GET", server.url + "/api/v1/account", key)
    assert body["account"]["plan"]["cycle_start"] == plans.cycle_end(account)
    assert body["account"]["limits"]["recording_mb"] == 1024
    await web.close()


async def test_limits_change_on_every_node_at_once(make_server, redis_url) -> None:
    a = await make_server(redis_url=redis_url)
    b = await make_server(redis_url=redis_url)
    account, key = await a.account(presenter_seats=1)
    event = await a.event(account)
    _, first = await a.invite(event, "presenter", name="P1")
    _, second = await a.invite(event, "presenter", name="P2")
    c1 = await b.client(first)
    await c1.wait_for("room.state")
    with pytest.raises(Refused) as refused:
        await b.client(second, device="second-presenter")
    assert refused.value.code == "presenter_seats_full"
    status, _ = await http(
        "POST", a.url + "/api/v1/addons", key, {"kind": "presenter_seats", "quantity": 1}
    )
    assert status == 201
    c2 = await b.client(second, device="second-presenter")  # the seat bought on A admits on B
    assert (await c2.wait_for("room.state"))["you"]["role"] == "presenter"


def test_tribune_account_create_cycle_and_billing_paid(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    exe = [sys.executable, "-m", "signaling.cli"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*exe, *args], capture_output=True, text=True, timeout=60, cwd=ROOT)

    created = run("account", "create", "Yearly", "--cycle", "annual", "--json", "--data-dir", data)
    assert created.returncode == 0, created.stderr
    info = json.loads(created.stdout)
    assert info["cycle"] == "annual" and info["api_key"]
    assert run("account", "create", "X", "--cycle", "weekly", "--data-dir", data).returncode == 2

    async def buy() -> int:
        from room.accounts import addons
        from room.accounts.account import get_account
        from room.accounts.biller import InvoiceOnly
        from room.accounts.prices import default_prices

        store = MemoryStore(data)
        await store.start()
        try:
            account = await get_account(store, info["account_id"])
            assert account.cycle == "annual"
            _, invoice = await addons.buy(
                store, InvoiceOnly(), account, default_prices(), "storage", 1, account.cycle_start
            )
            return invoice.number
        finally:
            await store.close()

    number = asyncio.run(buy())
    paid = run("billing", "paid", f"INV-{number:06d}", "--json", "--data-dir", data)
    assert paid.returncode == 0, paid.stderr
    answer = json.loads(paid.stdout)
    assert answer["number"] == number and answer["status"] == "paid"
    missing = run("billing", "paid", "77", "--data-dir", data)
    assert missing.returncode == 2 and "not_found" in missing.stderr


async def test_a_bought_secondary_account_lives_until_its_add_on_ends(mem_server) -> None:
    """The secondary-accounts add-on is the allowance: without it, creating one is refused;
    bought, it is created; cancelled, the account stays to the cycle end, and the renewal
    at the cycle end erases it with its data."""
    server = mem_server
    account, _, web = await owner_web(server)
    fix_clock(server, account, 2)
    branch = {"name": "Branch", "owner_email": "branch@acme.test"}
    status, body = await web.call("POST", "/api/v1/account/secondary", branch)
    assert status == 409 and body["error"]["code"] == "limit_reached", body
    _, bought = await web.call(
        "POST", "/api/v1/addons", {"kind": "secondary_accounts", "quantity": 1}
    )
    status, made = await web.call("POST", "/api/v1/account/secondary", branch)
    assert status == 201, made
    sec_id = made["account"]["id"]
    _, listed = await web.call("GET", "/api/v1/account/secondary")
    assert listed["allowance"] == 1 and [a["id"] for a in listed["secondary"]] == [sec_id]
    status, body = await web.call("DELETE", f"/api/v1/addons/{bought['addon']['id']}")
    assert status == 200 and body["addon"]["status"] == "cancelled", body
    fix_clock(server, account, 29)
    await renew_now(server.app)
    _, listed = await web.call("GET", "/api/v1/account/secondary")
    assert [a["id"] for a in listed["secondary"]] == [sec_id]  # until the cycle end
    fix_clock(server, account, 30.01)
    await renew_now(server.app)
    _, listed = await web.call("GET", "/api/v1/account/secondary")
    assert listed["allowance"] == 0 and listed["secondary"] == []
    assert await server.tribune.store.hget(keys.ACCOUNTS, sec_id) is None  # erased
    await web.close()
