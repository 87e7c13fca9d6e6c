"""Billing cycles: 30 days (monthly) or 365 days (annual), when the current one ends, how
many days of it are left, proration, and moving the cycle on at its end.

Times are given (`now`), never read here: the edge passes its clock's
(`signaling.context.Tribune.clock`), tests a `ManualClock`.
"""

from __future__ import annotations

import math

from room import cas, keys
from room.accounts.clock import DAY
from room.errors import not_found
from room.records import Account, Cycle
from room.store import Store

CYCLE_DAYS: dict[Cycle, int] = {Cycle.MONTHLY: 30, Cycle.ANNUAL: 365}


def cycle_days(account: Account) -> int:
    return CYCLE_DAYS[account.cycle]


def cycle_start(account: Account) -> float:
    """The start of the current cycle (an account stored before cycles: its creation)."""
    return account.cycle_start or account.created


def cycle_end(account: Account) -> float:
    """The end of the current cycle: its start plus the cycle's days."""
    return cycle_start(account) + cycle_days(account) * DAY


def remaining_days(account: Account, now: float) -> int:
    """The days from `now` to the cycle end, each started day counted whole: the whole
    cycle on its first instant, 1 during its last day (never less than 1 nor more than
    the cycle's days)."""
    left = (cycle_end(account) - now) / DAY
    return max(1, min(cycle_days(account), math.ceil(left)))


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, halves up (non-negative)."""
    return (2 * numerator + denominator) // (2 * denominator)


def prorate(price_cycle_cents: int, remaining: int, days: int) -> int:
    """`round_half_up(price_cycle * remaining / days)` in cents."""
    return round_half_up(price_cycle_cents * remaining, days)


def charged_now(account: Account, price_cycle_cents: int, now: float) -> int:
    return prorate(price_cycle_cents, remaining_days(account, now), cycle_days(account))


async def advance_cycle(store: Store, account_id: str, now: float) -> tuple[Account, int]:
    """Move the account's cycle start on past every cycle end reached by `now` (a renewal
    moves `cycle_start`); returns the account and how many cycles this call moved it by.
    Compare-and-set: when every node's loop calls this at once, one of them moves it."""
    moved = 0

    def apply(account: Account) -> None:
        nonlocal moved
        moved = 0
        start, step = cycle_start(account), cycle_days(account) * DAY
        while start + step <= now:
            start += step
            moved += 1
        account.cycle_start = start

    done = await cas.update(
        store,
        keys.ACCOUNTS,
        account_id,
        Account,
        apply,
        missing=not_found("account"),
        conflict="the account is being changed too often; try again",
    )
    return done.after, moved
