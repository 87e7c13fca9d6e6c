"""Dashboard users and their logins, without a server: passwords, login sessions and
one-use sign-in links (R-REG-4), on both store backends."""

from __future__ import annotations

import asyncio

import pytest

from room import keys, ratelimit
from room.accounts import logins, users
from room.accounts.account import create_account
from room.accounts.users import UserKind
from room.errors import Code, TribuneError
from room.ratelimit import Backoff
from room.store import Store

PASSWORD = "correct horse battery"


async def organizer(store: Store) -> users.User:
    account, _ = await create_account(store, "Acme")
    return await users.create_user(
        store, account, " Ada@Example.org ", "Ada", UserKind.ORGANIZER, PASSWORD
    )


async def test_a_password_login_and_a_wrong_one_look_alike_to_an_attacker(store: Store) -> None:
    user = await organizer(store)
    assert user.email == "ada@example.org"
    assert (await logins.verify_login(store, "ada@example.org", PASSWORD)).id == user.id
    refusals = []
    for email, password in (("ada@example.org", "wrong password!"), ("bob@example.org", PASSWORD)):
        with pytest.raises(TribuneError) as err:
            await logins.verify_login(store, email, password)
        refusals.append((err.value.code, str(err.value)))
    assert refusals[0] == refusals[1] == (Code.UNAUTHORIZED, "wrong e-mail or password")


async def test_a_second_user_with_the_same_email_is_a_conflict(store: Store) -> None:
    user = await organizer(store)
    account, _ = await create_account(store, "Other")
    with pytest.raises(TribuneError) as err:
        await users.create_user(store, account, "ADA@example.org", "", UserKind.COLLABORATOR)
    assert err.value.code is Code.CONFLICT
    assert await users.user_by_email(store, "ada@example.org") == user


async def test_a_login_session_lives_until_it_is_closed(store: Store) -> None:
    user = await organizer(store)
    token = await logins.open_login(store, user)
    assert (await logins.user_of_login(store, token)) == user
    await logins.close_login(store, token)
    assert await logins.user_of_login(store, token) is None
    assert await logins.user_of_login(store, "not-a-token") is None


async def test_a_sign_in_link_works_once_even_when_used_twice_at_the_same_time(
    store: Store,
) -> None:
    user = await organizer(store)
    token = await logins.issue_magic_link(store, user)
    results = await asyncio.gather(
        *(logins.consume_magic_link(store, token) for _ in range(20)), return_exceptions=True
    )
    signed_in = [r for r in results if not isinstance(r, BaseException)]
    assert signed_in == [user]
    assert all(
        isinstance(r, TribuneError) and r.code is Code.UNAUTHORIZED
        for r in results
        if isinstance(r, BaseException)
    )


async def test_an_expired_sign_in_link_is_refused(store: Store) -> None:
    user = await organizer(store)
    token = await logins.issue_magic_link(store, user, ttl=-1)
    with pytest.raises(TribuneError) as err:
        await logins.consume_magic_link(store, token)
    assert err.value.code is Code.UNAUTHORIZED


async def test_a_new_password_replaces_the_old_one(store: Store) -> None:
    user = await organizer(store)
    await users.set_password(store, user, "another long password")
    assert await logins.verify_login(store, "ada@example.org", "another long password")
    with pytest.raises(TribuneError):
        await logins.verify_login(store, "ada@example.org", PASSWORD)


async def test_wrong_passwords_slow_an_account_but_never_shut_out_its_owner(store: Store) -> None:
    await organizer(store)
    backoff = Backoff(free=2, first=0.01, cap=0.02, forget=90.0)
    scope = keys.login_email_scope("ada@example.org")
    for i in range(12):
        with pytest.raises(TribuneError) as err:
            await logins.check_password(store, "ada@example.org", f"guess {i}", backoff)
        assert err.value.code is Code.UNAUTHORIZED
    assert await ratelimit.backoff_delay(store, scope, backoff) == backoff.cap
    user = await logins.check_password(store, "ada@example.org", PASSWORD, backoff)
    assert user.email == "ada@example.org"
    assert await ratelimit.failures(store, scope, backoff) == 0
