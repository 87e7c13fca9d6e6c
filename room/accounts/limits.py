"""The limits in effect: the account's plan plus its add-ons in effect (issue 11).

Every check reads them here, at once and on every node, because both halves are
in the store: seats (`room.seats`), presenter seats, parallel events
(`room.live`), the event capacity and the certificates (`room.events`), secondary
accounts (the team's part), and the recording and storage quotas (exposed;
recording is another issue). The stage caps are here for a complete view, but no
add-on raises them, so `room.stage` reads them from the plan (no extra store read on
the publish path, which a failover's republish is sensitive to).
"""

from __future__ import annotations

import msgspec

from room.accounts.account import get_account
from room.accounts.catalogue import UNIT_MB, AddOn, AddOnKind, in_effect, stored_addons
from room.records import Account
from room.store import Store


class Limits(msgspec.Struct, frozen=True):
    attendees: int
    presenter_seats: int
    parallel_events: int
    secondary_accounts: int
    recording_mb: int
    storage_mb: int
    certificates: bool
    collaborator_seats: int
    stage_cameras: int
    stage_mics: int
    stage_screens: int


def combine(account: Account, addons: list[AddOn], now: float | None = None) -> Limits:
    """The plan plus the add-ons in effect at `now` (None: every stored add-on)."""
    plan = account.plan
    extra = dict.fromkeys(AddOnKind, 0)
    for addon in addons:
        if in_effect(addon, now):
            extra[addon.kind] += addon.quantity
    return Limits(
        attendees=plan.attendees,
        presenter_seats=plan.presenter_seats + extra[AddOnKind.PRESENTER_SEATS],
        parallel_events=plan.parallel_events + extra[AddOnKind.PARALLEL_EVENTS],
        secondary_accounts=plan.secondary_accounts + extra[AddOnKind.SECONDARY_ACCOUNTS],
        recording_mb=plan.recording_mb + UNIT_MB * extra[AddOnKind.RECORDING_SPACE],
        storage_mb=plan.storage_mb + UNIT_MB * extra[AddOnKind.STORAGE],
        certificates=plan.certificates or extra[AddOnKind.CERTIFICATES] > 0,
        collaborator_seats=plan.collaborator_seats,
        stage_cameras=plan.stage_cameras,
        stage_mics=plan.stage_mics,
        stage_screens=plan.stage_screens,
    )


async def limits_of(store: Store, account: Account, now: float | None = None) -> Limits:
    """The limits in effect of an account already read."""
    return combine(account, await stored_addons(store, account.id), now)


async def limits(store: Store, account_id: str, now: float | None = None) -> Limits:
    """The limits in effect: the plan plus the active add-ons (and the cancelled ones
    until their cycle end). `now`: count only the add-ons still in effect then; None
    (the checks of the room, which read no clock): every add-on the store holds, which
    the renewal step clears at each cycle end."""
    return await limits_of(store, await get_account(store, account_id), now)
