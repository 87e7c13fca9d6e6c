"""The operator's commands beside `serve`: `tribune account create|rotate-key` and
`tribune billing paid INVOICE_NUMBER`. Every flag has a TRIBUNE_* twin."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from room.accounts import users
from room.accounts.account import create_account, rotate_key
from room.accounts.invoices import parse_number, record_payment
from room.audience.registration import normalize_email
from room.errors import Code, TribuneError
from room.records import Cycle, Plan
from room.store import Store
from signaling.app import make_store
from signaling.config import Config

DEFAULT_PLAN = Plan()

Env = Callable[..., Any]


def add_commands(
    sub: Any,
    env: Env,
    env_flag: Callable[[str], bool],
    store_flags: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Add the `account` and `billing` commands to the `tribune` parser's subparsers."""
    a = sub.add_parser("account", help="manage accounts")
    asub = a.add_subparsers(dest="account_command", required=True)
    c = asub.add_parser("create", help="create an account and print its API key")
    c.add_argument("name")
    c.add_argument(
        "--attendees",
        type=int,
        default=int(env("ATTENDEES", DEFAULT_PLAN.attendees)),
        help="attendee capacity per event "
        f"(env TRIBUNE_ATTENDEES; default {DEFAULT_PLAN.attendees})",
    )
    c.add_argument(
        "--presenter-seats",
        type=int,
        default=int(env("PRESENTER_SEATS", DEFAULT_PLAN.presenter_seats)),
        help="presenter seats per event (env TRIBUNE_PRESENTER_SEATS; "
        f"default {DEFAULT_PLAN.presenter_seats})",
    )
    c.add_argument(
        "--parallel-events",
        type=int,
        default=int(env("PARALLEL_EVENTS", DEFAULT_PLAN.parallel_events)),
        help="live events at a time "
        f"(env TRIBUNE_PARALLEL_EVENTS; default {DEFAULT_PLAN.parallel_events})",
    )
    c.add_argument(
        "--cycle",
        choices=[c.value for c in Cycle],
        default=env("CYCLE", Cycle.MONTHLY.value),
        help="billing cycle: monthly (30 days) or annual (365 days); add-ons renew with it "
        "(env TRIBUNE_CYCLE; default monthly)",
    )
    c.add_argument(
        "--owner-email",
        default=env("OWNER_EMAIL"),
        metavar="EMAIL",
        help="also create the account's owner user with this e-mail, who signs in to the "
        "dashboard with a sign-in link (env TRIBUNE_OWNER_EMAIL)",
    )
    c.add_argument(
        "--no-certificates",
        action="store_true",
        default=env_flag("NO_CERTIFICATES"),
        help="a plan without certificates: they need the certificates add-on "
        "(env TRIBUNE_NO_CERTIFICATES)",
    )
    c.add_argument(
        "--json",
        action="store_true",
        default=env_flag("JSON"),
        help="print the account as one JSON line",
    )
    store_flags(c)
    r = asub.add_parser(
        "rotate-key", help="give an account a new API key; the old one stops working at once"
    )
    r.add_argument("account_id")
    r.add_argument(
        "--json",
        action="store_true",
        default=env_flag("JSON"),
        help="print the new key as one JSON line (env TRIBUNE_JSON)",
    )
    store_flags(r)

    b = sub.add_parser("billing", help="record payments of invoices")
    bsub = b.add_subparsers(dest="billing_command", required=True)
    paid = bsub.add_parser(
        "paid", help="record that an invoice was paid (the embedded biller issues them due)"
    )
    paid.add_argument("number", help="the invoice number: 42, 000042 or INV-000042")
    paid.add_argument("--reference", default="", help="a payment reference kept with it")
    paid.add_argument(
        "--json",
        action="store_true",
        default=env_flag("JSON"),
        help="print the invoice as one JSON line (env TRIBUNE_JSON)",
    )
    store_flags(paid)


async def _opened(args: argparse.Namespace) -> Store:
    store = make_store(Config(data_dir=args.data_dir, redis_url=args.redis_url))
    await store.start()
    return store


async def _create_account(args: argparse.Namespace) -> int:
    store = await _opened(args)
    try:
        plan = Plan(
            attendees=args.attendees,
            presenter_seats=args.presenter_seats,
            parallel_events=args.parallel_events,
            certificates=not args.no_certificates,
        )
        email = None if not args.owner_email else normalize_email(args.owner_email, "owner_email")
        if email is not None and await users.user_by_email(store, email) is not None:
            raise TribuneError(Code.CONFLICT, f"a user with the e-mail {email} already exists")
        account, key = await create_account(store, args.name, plan, Cycle(args.cycle))
        if email is not None:
            await users.create_user(store, account, email, "", users.UserKind.ORGANIZER, owner=True)
    finally:
        await store.close()
    out: dict[str, Any] = {
        "account_id": account.id,
        "name": account.name,
        "api_key": key,
        "cycle": account.cycle.value,
    }
    if email is not None:
        out["owner_email"] = email
    if args.json:
        print(json.dumps(out))
    else:
        print(f"account {account.id} ({account.name}) created, {account.cycle.value} cycle")
        print(f"API key: {key}")
        if email is not None:
            print(f"owner: {email} (signs in to the dashboard with a sign-in link)")
    return 0


async def _rotate_key(args: argparse.Namespace) -> int:
    store = await _opened(args)
    try:
        key = await rotate_key(store, args.account_id)
    finally:
        await store.close()
    if args.json:
        print(json.dumps({"account_id": args.account_id, "api_key": key}))
    else:
        print(f"account {args.account_id}: new API key (the old one no longer works)")
        print(f"API key: {key}")
    return 0


async def _paid(args: argparse.Namespace) -> int:
    number = parse_number(args.number)
    store = await _opened(args)
    try:
        invoice = await record_payment(store, number, time.time(), args.reference)
    finally:
        await store.close()
    if args.json:
        print(json.dumps({"number": invoice.number, "id": invoice.id, "status": invoice.status}))
    else:
        print(f"invoice {invoice.label} ({invoice.total_cents} cents): {invoice.status.value}")
    return 0


async def run(args: argparse.Namespace) -> int:
    if args.command == "billing":
        return await _paid(args)
    if args.account_command == "rotate-key":
        return await _rotate_key(args)
    return await _create_account(args)
