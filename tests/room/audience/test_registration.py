"""Registration: custom fields, one registration per e-mail, under concurrency (R-REG-1)."""

from __future__ import annotations

import asyncio

import pytest

from room import events as ev
from room.accounts.account import create_account
from room.audience import registration as reg
from room.errors import TribuneError
from room.event_settings import SettingsChange, parse_fields
from room.records import Plan
from room.types import AccessMode, EventState

FIELDS = [
    {"id": "company", "label": "Company", "kind": "text", "required": True},
    {"id": "role", "label": "Your role", "kind": "choice", "choices": ["dev", "ops"]},
    {"id": "terms", "label": "I accept the terms", "kind": "checkbox", "required": True},
    {"id": "news", "label": "Newsletter", "kind": "checkbox"},
]


async def make_event(store):
    account, _ = await create_account(store, "Acme", Plan())
    return await ev.create_event(
        store,
        account,
        ev.EventCreate(
            title="Launch",
            access_mode=AccessMode.REGISTRATION,
            settings=SettingsChange(registration_fields=FIELDS),
        ),
    )


def form(email="ann@example.org", name="Ann", **answers):
    base = {"company": "Acme", "terms": True}
    return reg.RegistrationForm(email=email, name=name, answers={**base, **answers})


async def test_registration_gives_a_personal_participant_invitation(store):
    event = await make_event(store)
    r, inv = await reg.register(store, event, form(email="  Ann@Example.ORG ", role="ops"))
    assert r.email == "ann@example.org"
    assert r.answers == {"company": "Acme", "role": "ops", "terms": True, "news": False}
    assert inv.role == "participant" and not inv.shared
    assert inv.email == "ann@example.org" and inv.name == "Ann"
    assert (await ev.load_invitation(store, event.id, inv.id)).id == r.invitation_id
    assert [x.email for x in await reg.all_registrations(store, event.id)] == ["ann@example.org"]


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"company": ""}, "answers.company"),
        ({"company": "   "}, "answers.company"),
        ({"terms": False}, "answers.terms"),
        ({"terms": "yes"}, "answers.terms"),
        ({"role": "boss"}, "answers.role"),
        ({"company": 3}, "answers.company"),
        ({"company": "x" * 2001}, "answers.company"),
        ({"shoe_size": "44"}, "answers.shoe_size"),
    ],
)
async def test_custom_fields_are_validated(store, answers, field):
    event = await make_event(store)
    with pytest.raises(TribuneError) as err:
        await reg.register(store, event, form(**answers))
    assert err.value.code == "invalid"
    assert err.value.field == field
    assert await reg.count(store, event.id) == 0


@pytest.mark.parametrize(
    "email", ["", "ann", "ann@", "@example.org", "a b@example.org", "ann@localhost"]
)
async def test_bad_email_is_refused(store, email):
    event = await make_event(store)
    with pytest.raises(TribuneError) as err:
        await reg.register(store, event, form(email=email or "xyz"))
    assert err.value.code == "invalid" and err.value.field == "email"


async def test_second_registration_with_the_same_email_is_refused(store):
    event = await make_event(store)
    await reg.register(store, event, form())
    with pytest.raises(TribuneError) as err:
        await reg.register(store, event, form(email="ANN@example.org", name="Other Ann"))
    assert err.value.code == "conflict"
    assert "already registered" in err.value.message
    assert await reg.count(store, event.id) == 1
    assert (await reg.get(store, event.id, "ann@example.org")).name == "Ann"
    # the refused attempt left no invitation behind
    invs = await ev.list_invitations(store, event.id)
    assert [i.email for i in invs] == ["ann@example.org"]


async def test_only_registration_events_take_registrations(store):
    account, _ = await create_account(store, "Acme", Plan())
    event = await ev.create_event(store, account, ev.EventCreate(title="Open"))
    with pytest.raises(TribuneError) as err:
        await reg.register(store, event, reg.RegistrationForm(email="a@b.co", name="A"))
    assert err.value.code == "forbidden"
    event.access_mode = AccessMode.REGISTRATION
    event.state = EventState.ENDED
    with pytest.raises(TribuneError) as err:
        await reg.register(store, event, reg.RegistrationForm(email="a@b.co", name="A"))
    assert err.value.code == "event_ended"


async def test_200_concurrent_registrations_with_50_duplicates_make_150(store):
    event = await make_event(store)
    emails = [f"person{i}@example.org" for i in range(150)]
    attempts = emails + [e.upper() for e in emails[:50]]
    results = await asyncio.gather(
        *(reg.register(store, event, form(email=e, name=e[:8])) for e in attempts),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, TribuneError)]
    assert len(refused) == 50 and {r.code for r in refused} == {"conflict"}
    assert not [r for r in results if isinstance(r, BaseException) and r not in refused]
    assert await reg.count(store, event.id) == 150
    listed = await reg.all_registrations(store, event.id)
    assert sorted(r.email for r in listed) == sorted(emails)
    # one personal invitation per registrant, none for the refused attempts
    invs = await ev.list_invitations(store, event.id)
    assert len(invs) == 150 and {i.id for i in invs} == {r.invitation_id for r in listed}


def test_field_definitions_are_checked():
    assert parse_fields(None) == []
    for bad in (
        [{"id": "email", "label": "E-mail"}],
        [{"id": "a", "label": "A"}, {"id": "a", "label": "B"}],
        [{"id": "a", "label": "A", "kind": "choice"}],
        [{"id": "a", "label": "A", "choices": ["x"]}],
        [{"id": "Bad Id", "label": "A"}],
        [{"id": "a", "label": ""}],
        [{"id": "a", "label": "A", "kind": "date"}],
        "not a list",
    ):
        with pytest.raises(TribuneError) as err:
            parse_fields(bad)
        assert err.value.field == "registration_fields"
