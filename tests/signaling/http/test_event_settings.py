"""Event settings over HTTP: stored events show the same JSON as before settings were
typed, and the events API checks the settings it is given and merges them."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import msgspec

from room import keys
from room.permissions import API_KEY_ROLE, PERMISSIONS
from tests.helpers import http

FIELDS = [
    {"id": "company", "label": "Company", "kind": "text", "required": True, "choices": []},
    {"id": "size", "label": "Size", "kind": "choice", "required": False, "choices": ["1", "2+"]},
]


async def raw_get(url: str, key: str) -> bytes:
    async with aiohttp.ClientSession() as s:
        async with s.get(url, headers={"Authorization": f"Bearer {key}"}) as r:
            assert r.status == 200
            return await r.read()


async def test_stored_events_show_the_same_json_as_before(server) -> None:
    """Each map is what the previous version stored (the dashboard's settings with every
    option filled in, in the order it wrote them) and the answer is what it sent back."""
    account, key = await server.account()
    settings_written: list[dict[str, Any]] = [
        {},
        {"question_visibility": "all"},
        {"registration_fields": [], "anonymous_questions": True},
        {
            "registration_fields": FIELDS,
            "certificate": {
                "enabled": True,
                "colour": "#102030",
                "accent": "#3557e0",
                "signer": "",
            },
            "question_visibility": "approved",
            "anonymous_questions": False,
            "direct_link": False,
        },
    ]
    base = server.tribune.config.base_url
    views = []
    for n, settings in enumerate(settings_written):
        stored = {
            "id": f"ev_{n}",
            "account_id": account.id,
            "title": "Stored ü",
            "kind": "webinar",
            "state": "scheduled",
            "access_mode": "registration",
            "capacity": 100,
            "scheduled_start": None,
            "created": 1700000000.5,
            "started_at": None,
            "ended_at": None,
            "settings": settings,
        }
        store = server.tribune.store
        await store.hset(keys.EVENTS, stored["id"], msgspec.msgpack.encode(stored))
        await store.hset(keys.account_events(account.id), stored["id"], b"1")
        # the fields added since (the credits plan) come after the old ones, at defaults
        shown = stored | {"client_id": None, "credit_cost": 6}
        as_before = json.dumps(shown).encode()
        api = f"{server.url}/api/v1/events/{stored['id']}"
        assert await raw_get(api, key) == as_before
        view = shown | {
            "role": API_KEY_ROLE.value,
            "can": sorted(a.value for a in PERMISSIONS[API_KEY_ROLE]),
            "links": {
                "stats": f"{base}/stats/{stored['id']}",
                "register": f"{base}/register/{stored['id']}",
            },
            "credits_low": False,
            "credits_left": None,
        }
        detail = view | {
            "counts": {"registrations": 0, "guests": 0, "sessions": 0},
            "direct_link": None,
            "collaborators": [],
        }
        dashboard = f"{server.url}/api/v1/dashboard/events/{stored['id']}"
        assert await raw_get(dashboard, key) == json.dumps(detail).encode()
        views.append(view)
    listed = await raw_get(f"{server.url}/api/v1/dashboard/events", key)
    assert listed.startswith(json.dumps({"events": views}).encode()[:-1] + b", ")


async def test_the_events_api_checks_settings_and_merges_them(server) -> None:
    _, key = await server.account()
    api = server.url + "/api/v1/events"
    status, event = await http(
        "POST",
        api,
        key,
        {
            "title": "Launch",
            "settings": {"registration_fields": [{"id": "company", "label": "Company"}]},
        },
    )
    assert status == 201
    assert event["settings"] == {"registration_fields": [FIELDS[0] | {"required": False}]}
    url = f"{api}/{event['id']}"

    status, patched = await http(
        "PATCH", url, key, {"settings": {"question_visibility": "all", "certificate": None}}
    )
    assert status == 200
    assert patched["settings"] == event["settings"] | {"question_visibility": "all"}

    # an event read from the API can be sent back as it is (direct_link is read-only)
    status, same = await http(
        "PATCH", url, key, {"settings": patched["settings"] | {"direct_link": True}}
    )
    assert status == 200 and same == patched

    for settings, field in [
        ({"registration_fields": [{"id": "email", "label": "E-mail"}]}, "registration_fields"),
        ({"certificate": {"colour": "red"}}, "certificate"),
        ({"question_visibility": "everyone"}, "settings.question_visibility"),
        ({"crm_id": "x"}, "settings"),  # the message names `crm_id`
    ]:
        status, body = await http("PATCH", url, key, {"settings": settings})
        assert status == 400 and body["error"]["code"] == "invalid", settings
        assert body["error"]["field"] == field, body
        status, body = await http("POST", api, key, {"title": "x", "settings": settings})
        assert status == 400 and body["error"]["field"] == field, body
    assert (await http("GET", url, key))[1] == patched
