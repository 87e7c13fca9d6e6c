"""Secondary accounts without a server: at the main account's cycle end, those beyond the
allowance then in effect are erased with their data, the newest first (on both stores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from moderation import retention
from room import events as ev
from room import keys
from room.accounts import secondary, users
from room.accounts.account import create_account
from room.accounts.clock import DAY, ManualClock
from room.audience.outbox import Outbox
from room.errors import Code, TribuneError
from room.store import Store
from signaling.smtp import transport_for


@pytest.fixture
def allowance(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Stands in for billing's limits in effect (`secondary_allowance` is the seam)."""
    given: dict[str, int] = {}

    async def allowed(store: object, account_id: str, now: float) -> int:
        return given.get(account_id, 0)

    monkeypatch.setattr(secondary, "secondary_allowance", allowed)
    return given


async def test_at_cycle_end_the_accounts_beyond_the_allowance_are_erased_newest_first(
    store: Store, tmp_path: Path, allowance: dict[str, int]
) -> None:
    outbox = Outbox(store, transport_for(None, tmp_path), "t@example.org")
    clock = ManualClock(1_700_000_000.0)
    main, _ = await create_account(store, "Main")
    allowance[main.id] = 3
    made = []
    for n in range(3):
        account, _, _ = await secondary.create(
            store, outbox, main, f"S{n}", f"s{n}@acme.test", clock.now(), "http://x/login"
        )
        await ev.create_event(store, account, ev.EventCreate(title=f"E{n}"))
        made.append(account)
        clock.advance(DAY)
    with pytest.raises(TribuneError) as err:
        await secondary.create(store, outbox, made[0], "Sub", "sub@acme.test", clock.now(), "")
    assert err.value.code is Code.FORBIDDEN  # a secondary account has none of its own

    async def purge(event_id: str) -> None:
        await retention.purge(store, event_id)

    assert await secondary.at_cycle_end(store, main.id, clock.now(), purge=purge) == 0
    allowance[main.id] = 1  # two add-ons were cancelled and their cycle has ended
    assert await secondary.at_cycle_end(store, main.id, clock.now(), purge=purge) == 2
    left = await secondary.list_secondary(store, main)
    assert [a.name for a in left] == ["S0"]
    for gone in made[1:]:
        assert await store.hget(keys.ACCOUNTS, gone.id) is None
        assert await store.hgetall(keys.account_events(gone.id)) == {}
    assert await users.user_by_email(store, "s2@acme.test") is None
    assert await users.user_by_email(store, "s0@acme.test") is not None
