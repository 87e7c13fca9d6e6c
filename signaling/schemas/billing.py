"""Wire Structs of billing over HTTP (issue 11): the account view, add-on bodies."""

from __future__ import annotations

from typing import Annotated

import msgspec

from room.accounts import plans
from room.accounts.limits import Limits
from room.records import Account, Cycle, Plan

KindText = Annotated[str, msgspec.Meta(max_length=50)]


class AddOnBuy(msgspec.Struct, forbid_unknown_fields=True):
    kind: KindText
    quantity: int


class AddOnResize(msgspec.Struct, forbid_unknown_fields=True):
    quantity: int


class CycleView(msgspec.Struct):
    cycle: Cycle
    cycle_start: float
    cycle_end: float


class LimitsView(msgspec.Struct):
    attendees: int
    presenter_seats: int
    parallel_events: int
    secondary_accounts: int
    recording_mb: int
    storage_mb: int


class UsageView(msgspec.Struct):
    recording_bytes: int
    """What the account's recordings and their MP4 exports take (`room.recordings.used_bytes`),
    against `limits.recording_mb`."""


class AccountBilling(msgspec.Struct):
    id: str
    name: str
    plan: CycleView
    limits: LimitsView
    usage: UsageView


class AccountView(msgspec.Struct):
    """`GET /api/v1/account`: the fields it always had (the account record, its plan's base
    limits) and `account`, the plan's cycle and the limits in effect (issue 11)."""

    id: str
    name: str
    plan: Plan
    created: float
    account: AccountBilling


def account_view(account: Account, limits: Limits, recording_bytes: int) -> AccountView:
    return AccountView(
        id=account.id,
        name=account.name,
        plan=account.plan,
        created=account.created,
        account=AccountBilling(
            id=account.id,
            name=account.name,
            plan=CycleView(account.cycle, plans.cycle_start(account), plans.cycle_end(account)),
            limits=LimitsView(
                attendees=limits.attendees,
                presenter_seats=limits.presenter_seats,
                parallel_events=limits.parallel_events,
                secondary_accounts=limits.secondary_accounts,
                recording_mb=limits.recording_mb,
                storage_mb=limits.storage_mb,
            ),
            usage=UsageView(recording_bytes),
        ),
    )
