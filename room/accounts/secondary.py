"""Secondary accounts (seed 000): a main account's owner creates them within the allowance
in effect, each with a name and its own owner. A secondary account is an account of its
own (`Account.parent_id` names the main one): its own data, events, users, API key,
storage and recording allowance, and its own parallel-events count, so its events may
run while the main account's do. It cannot buy, nor have secondary accounts of its own.

Deleting one erases all its data, after an explicit confirmation (its name). Cancelling
its add-on is another thing: the account stays until the cycle end, then `at_cycle_end`
erases the secondary accounts beyond the allowance in effect, the newest first.

Erasing an account's events needs moderation's keys too, which this package may not
import: the edge passes `purge` (`moderation.retention.purge`, after closing the event's
connections), as the event deletion does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec

from room import events as ev
from room import keys, live
from room.accounts import account as accounts
from room.accounts import users
from room.accounts.limits import limits
from room.audience import letters
from room.audience.outbox import Outbox
from room.audience.registration import normalize_email
from room.errors import Code, TribuneError, invalid, not_found
from room.records import Account, decode, encode
from room.store import Store
from room.types import EventState

Purge = Callable[[str], Awaitable[None]]
"""Delete every key a deleted event left (given its id): the edge's event purge."""


class SecondaryView(msgspec.Struct):
    id: str
    name: str
    owner_email: str
    created: float


async def secondary_allowance(store: Store, account_id: str, now: float) -> int:
    """How many secondary accounts the main account may have now: its limits in effect
    (the plan's, 0 by default, plus the secondary-accounts add-ons)."""
    return (await limits(store, account_id, now)).secondary_accounts


def require_main(account: Account) -> None:
    """Refuse (`forbidden`) a secondary account: only the main account manages these."""
    if account.parent_id is not None:
        raise TribuneError(Code.FORBIDDEN, "only the main account manages secondary accounts")


async def _secondary_of(store: Store, main: Account, account_id: str) -> Account:
    raw = await store.hget(keys.ACCOUNTS, account_id)
    found = None if raw is None else decode(raw, Account)
    if found is None or found.parent_id != main.id:
        raise not_found("secondary account")
    return found


async def _owner_email(store: Store, account_id: str) -> str:
    owners = [u for u in await users.account_users(store, account_id) if u.owner]
    return owners[0].email if owners else ""


async def list_secondary(store: Store, main: Account) -> list[SecondaryView]:
    """The main account's secondary accounts, oldest first."""
    require_main(main)
    ids = list(await store.hgetall(keys.secondary_accounts(main.id)))
    raws = await store.hmget(keys.ACCOUNTS, ids)
    found = sorted((decode(r, Account) for r in raws if r is not None), key=_age)
    return [SecondaryView(a.id, a.name, await _owner_email(store, a.id), a.created) for a in found]


def _age(a: Account) -> tuple[float, str]:
    return (a.created, a.id)


async def create(
    store: Store,
    outbox: Outbox,
    main: Account,
    name: str,
    owner_email: str,
    now: float,
    login_url: str,
) -> tuple[Account, str, users.User]:
    """A new secondary account with its owner user (who signs in with a sign-in link, and
    is mailed where); returns it with its API key (shown once) and its owner."""
    require_main(main)
    email = normalize_email(owner_email, "owner_email")
    if await users.user_by_email(store, email) is not None:
        raise TribuneError(
            Code.CONFLICT, f"a user with the e-mail {email} already exists", "owner_email"
        )
    allowance = await secondary_allowance(store, main.id, now)
    made, api_key = await accounts.create_account(store, name, main.plan)
    account = msgspec.structs.replace(made, parent_id=main.id, created=now)
    await store.hset(keys.ACCOUNTS, account.id, encode(account))
    placed = await store.hsetnx_capped(
        keys.secondary_accounts(main.id), account.id, b"1", allowance
    )
    try:
        if placed is None:
            raise TribuneError(
                Code.LIMIT_REACHED,
                f"your plan allows {allowance} secondary account(s); buy the add-on first",
            )
        owner = await users.create_user(
            store, account, email, "", users.UserKind.ORGANIZER, owner=True
        )
    except TribuneError as err:
        if err.field == "email":
            err = TribuneError(err.code, err.message, "owner_email")
        await _forget_account(store, account)
        raise err from None
    subject, text = letters.secondary_welcome(account.name, login_url)
    await outbox.enqueue(keys.secondary_mail(account.id), email, subject, text)
    return account, api_key, owner


async def delete(store: Store, main: Account, account_id: str, confirm: str, purge: Purge) -> None:
    """Erase one secondary account and all its data, once `confirm` repeats its name."""
    require_main(main)
    account = await _secondary_of(store, main, account_id)
    if confirm.strip() != account.name:
        raise invalid("type the account's name to confirm: all its data will be erased", "confirm")
    await erase(store, account, purge)


async def erase(store: Store, account: Account, purge: Purge) -> None:
    """Erase an account and everything it owns: its events (live ones are ended first),
    users (their logins end), API keys and every per-account key."""
    for event in await ev.list_events(store, account):
        if event.state is EventState.LIVE:
            await live.end(store, event.id)  # its slot and seats; it cannot be deleted live
        await ev.delete_event(store, account, event.id)
        await purge(event.id)
    for user in await users.account_users(store, account.id):
        await users.forget_user(store, user)
    await _forget_account(store, account)


async def _forget_account(store: Store, account: Account) -> None:
    for digest, owner in (await store.hgetall(keys.API_KEYS)).items():
        if owner.decode() == account.id:
            await store.hdel(keys.API_KEYS, digest)
    if account.parent_id is not None:
        await store.hdel(keys.secondary_accounts(account.parent_id), account.id)
    await store.delete(*keys.account_keys(account.id))
    await store.hdel(keys.ACCOUNTS, account.id)


async def at_cycle_end(store: Store, main_account_id: str, now: float, *, purge: Purge) -> int:
    """At the main account's cycle end: erase its secondary accounts beyond the allowance
    then in effect (a cancelled add-on has ended), the newest first. Returns how many."""
    main = await accounts.get_account(store, main_account_id)
    allowance = max(0, await secondary_allowance(store, main.id, now))
    ids = list(await store.hgetall(keys.secondary_accounts(main.id)))
    raws = await store.hmget(keys.ACCOUNTS, ids)
    found = sorted((decode(r, Account) for r in raws if r is not None), key=_age)
    beyond = found[allowance:][::-1]
    for account in beyond:
        await erase(store, account, purge)
    return len(beyond)
