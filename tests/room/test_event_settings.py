"""Typed event settings: events stored before settings were typed still load, each
setting that does not fit its type falling back to its default."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from msgspec import UNSET

from moderation import question_settings
from room import events as ev
from room import keys
from room.accounts.account import create_account
from room.audience import certificates, registration
from room.errors import TribuneError
from room.event_settings import (
    CertificateSettings,
    EventSettings,
    RegistrationField,
    SettingsChange,
    Visibility,
    updated,
)
from room.records import Event, Plan, decode, encode
from room.store import Store
from room.types import AccessMode


def stored_map(settings: Any) -> dict[str, Any]:
    """An event as the msgpack map older versions wrote, settings as they were given."""
    return {
        "id": "ev_old",
        "account_id": "acc_1",
        "title": "Old",
        "kind": "webinar",
        "state": "scheduled",
        "access_mode": "registration",
        "capacity": 100,
        "scheduled_start": None,
        "created": 1.0,
        "started_at": None,
        "ended_at": None,
        "settings": settings,
    }


async def load_old(store: Store, settings: Any) -> Event:
    await store.hset(keys.EVENTS, "ev_old", msgspec.msgpack.encode(stored_map(settings)))
    return await ev.load_event(store, "ev_old")


async def test_an_event_without_settings_reads_the_defaults(store: Store) -> None:
    event = await load_old(store, {})
    assert event.settings == EventSettings()
    assert registration.fields_of(event) == []
    assert not registration.certificate_enabled(event)
    assert certificates.settings_of(event) == CertificateSettings()
    assert question_settings.settings_of(event) == question_settings.QuestionSettings(
        Visibility.NONE, anonymous=True
    )
    assert msgspec.to_builtins(event.settings) == {}


async def test_well_formed_old_settings_load_typed(store: Store) -> None:
    event = await load_old(
        store,
        {
            "registration_fields": [{"id": "company", "label": "Company"}],
            "certificate": {"enabled": True},
            "question_visibility": "approved",
            "anonymous_questions": False,
            "direct_link": True,
            "crm_id": "kept nowhere",
        },
    )
    assert event.settings == EventSettings(
        registration_fields=[RegistrationField("company", "Company")],
        certificate=CertificateSettings(enabled=True),
        question_visibility=Visibility.APPROVED,
        anonymous_questions=False,
        direct_link=True,
    )
    assert registration.certificate_enabled(event)


@pytest.mark.parametrize(
    "settings",
    [
        {"registration_fields": "not a list"},
        {"registration_fields": [{"id": "email", "label": "E-mail"}]},  # reserved id
        {"registration_fields": [{"id": "a", "label": "A", "kind": "choice"}]},  # no choices
        {"certificate": ["not", "a", "map"]},
        {"certificate": None},
        {"question_visibility": "everyone!"},
        {"anonymous_questions": "yes"},
        {"direct_link": 1},
        ["settings", "that", "are", "no", "map"],
        None,
    ],
)
async def test_a_malformed_old_setting_is_left_unset(store: Store, settings: Any) -> None:
    event = await load_old(store, settings)
    assert event.settings == EventSettings()
    assert registration.fields_of(event) == []  # the registration page still opens
    assert question_settings.settings_of(event).visibility is Visibility.NONE
    assert question_settings.settings_of(event).anonymous is True


async def test_certificate_options_are_kept_one_by_one(store: Store) -> None:
    """Certificates were on whenever `enabled` was true, whatever the other options held."""
    event = await load_old(
        store,
        {
            "certificate": {"enabled": True, "colour": "red", "signer": "Ida", "font": "x"},
            "question_visibility": "all",
        },
    )
    assert event.settings.certificate == CertificateSettings(enabled=True, signer="Ida")
    assert event.settings.question_visibility is Visibility.ALL
    assert registration.certificate_enabled(event)


async def test_a_change_writes_the_cleaned_settings_back(store: Store) -> None:
    await load_old(store, {"question_visibility": "everyone!", "anonymous_questions": False})

    def rename(e: Event) -> None:
        e.title = "Renamed"

    await ev.change_event(store, "ev_old", rename)
    raw = await store.hget(keys.EVENTS, "ev_old")
    assert raw is not None
    assert msgspec.msgpack.decode(raw)["settings"] == {"anonymous_questions": False}


async def test_other_malformed_fields_are_still_refused(store: Store) -> None:
    old = stored_map({})
    old["capacity"] = "many"
    await store.hset(keys.EVENTS, "ev_old", msgspec.msgpack.encode(old))
    with pytest.raises(msgspec.ValidationError):
        await ev.load_event(store, "ev_old")


def test_only_settings_that_were_set_are_stored() -> None:
    event = Event("ev_1", "acc_1", "New", settings=EventSettings(anonymous_questions=True))
    assert msgspec.msgpack.decode(encode(event))["settings"] == {"anonymous_questions": True}
    assert decode(encode(event), Event) == event


def test_a_change_replaces_the_settings_it_gives_and_keeps_the_others() -> None:
    current = EventSettings(
        registration_fields=[RegistrationField("company", "Company")],
        question_visibility=Visibility.ALL,
        direct_link=True,
    )
    new = updated(
        current,
        SettingsChange(certificate={"enabled": True}, anonymous_questions=False, direct_link=False),
    )
    assert new == EventSettings(
        registration_fields=[RegistrationField("company", "Company")],
        certificate=CertificateSettings(enabled=True),
        question_visibility=Visibility.ALL,
        anonymous_questions=False,
        direct_link=True,  # only the direct-link route changes it
    )
    assert current.certificate is UNSET  # the current settings are not touched


def test_a_change_is_checked_as_the_dashboard_checks_it() -> None:
    with pytest.raises(TribuneError) as err:
        updated(EventSettings(), SettingsChange(certificate={"colour": "red"}))
    assert err.value.field == "certificate"
    with pytest.raises(TribuneError) as err:
        updated(EventSettings(), SettingsChange(registration_fields=[{"id": "name", "label": "N"}]))
    assert err.value.field == "registration_fields"
    assert str(err.value) == "field id 'name' is reserved or repeated"


async def test_created_events_keep_only_the_given_settings(store: Store) -> None:
    account, _ = await create_account(store, "Acme", Plan())
    event = await ev.create_event(
        store,
        account,
        ev.EventCreate(
            title="New",
            access_mode=AccessMode.REGISTRATION,
            settings=SettingsChange(question_visibility=Visibility.APPROVED),
        ),
    )
    assert msgspec.to_builtins(event.settings) == {"question_visibility": "approved"}
