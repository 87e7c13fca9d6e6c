"""Accounts, their plans and API keys."""

from __future__ import annotations

import hashlib
import secrets

from room import keys
from room.errors import invalid, not_found
from room.records import Account, Cycle, Plan, decode, encode, new_id, now
from room.store import Store


def _digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


async def create_account(
    store: Store, name: str, plan: Plan | None = None, cycle: Cycle = Cycle.MONTHLY
) -> tuple[Account, str]:
    """Create an account; returns it with its API key (shown once, stored hashed). Its first
    billing cycle starts now."""
    name = name.strip()
    if not name or len(name) > 200:
        raise invalid("account name must be 1 to 200 characters", "name")
    plan = plan or Plan()
    numbers = ("attendees", "presenter_seats", "parallel_events", "collaborator_seats")
    for field in (*numbers, "secondary_accounts", "recording_mb", "storage_mb"):
        if getattr(plan, field) < 0:
            raise invalid(f"{field} must not be negative", field)
    created = now()
    account = Account(
        id=new_id("acc"), name=name, plan=plan, created=created, cycle=cycle, cycle_start=created
    )
    api_key = "trb_" + secrets.token_urlsafe(24)
    await store.hset(keys.ACCOUNTS, account.id, encode(account))
    await store.hset(keys.API_KEYS, _digest(api_key), account.id.encode())
    return account, api_key


async def rotate_key(store: Store, account_id: str) -> str:
    """A new API key for the account (shown once, stored hashed); every older key of the
    account stops working at once. This is also how a leaked key is revoked."""
    account = await get_account(store, account_id)
    api_key = "trb_" + secrets.token_urlsafe(24)
    digest = _digest(api_key)
    owned = await store.hgetall(keys.API_KEYS)
    await store.hset(keys.API_KEYS, digest, account.id.encode())
    for old, owner in owned.items():
        if owner.decode() == account.id and old != digest:
            await store.hdel(keys.API_KEYS, old)
    return api_key


async def get_account(store: Store, account_id: str) -> Account:
    raw = await store.hget(keys.ACCOUNTS, account_id)
    if raw is None:
        raise not_found("account")
    return decode(raw, Account)


async def account_by_key(store: Store, api_key: str) -> Account | None:
    account_id = await store.hget(keys.API_KEYS, _digest(api_key))
    if account_id is None:
        return None
    raw = await store.hget(keys.ACCOUNTS, account_id.decode())
    return None if raw is None else decode(raw, Account)


async def list_accounts(store: Store) -> list[Account]:
    return [decode(v, Account) for v in (await store.hgetall(keys.ACCOUNTS)).values()]
