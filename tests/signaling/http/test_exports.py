"""Every list exports to CSV and XLSX over the HTTP API and parses back to the same rows."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest

from room import events as ev
from room.audience import access, registration, sessions
from room.event_settings import SettingsChange
from room.types import AccessMode
from tests.room.audience.helpers import Web


def utc(at):
    return dt.datetime.fromtimestamp(at, dt.UTC).replace(tzinfo=None)


def iso(at):
    return "" if at is None else utc(at).isoformat(sep=" ", timespec="seconds")


async def fetch(server, key, path):
    web = Web(server.url)
    try:
        status, data, headers = await _get(web, key, path)
    finally:
        await web.close()
    assert status == 200, data[:300]
    return data, headers


async def _get(web, key, path):
    async with web.session.get(web.base + path, headers={"Authorization": f"Bearer {key}"}) as r:
        return r.status, await r.read(), r.headers


def parse_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def parse_xlsx(data: bytes) -> list[list]:
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    rows = [list(row) for row in wb.active.iter_rows(values_only=True)]
    wb.close()
    width = len(rows[0])  # empty cells at the end of a row are not written
    return [row + [None] * (width - len(row)) for row in rows]


@pytest.fixture
async def filled(server):
    """An event with registrations (custom fields), guests, activity and sessions."""
    account, key = await server.account()
    store = server.tribune.store
    event = await ev.create_event(
        store,
        account,
        ev.EventCreate(
            title="Exports",
            access_mode=AccessMode.REGISTRATION,
            settings=SettingsChange(
                registration_fields=[
                    {"id": "company", "label": "Company", "kind": "text"},
                    {"id": "optin", "label": "Opt-in", "kind": "checkbox"},
                ]
            ),
        ),
    )
    regs = []
    for i in range(1203):  # more than one page
        name = '=HYPERLINK("http://evil")' if i == 7 else f"Person {i} é"
        r, _ = await registration.register(
            store,
            event,
            registration.RegistrationForm(
                email=f"p{i}@example.org",
                name=name,
                answers={"company": f"Co {i}", "optin": i % 2 == 0},
            ),
        )
        regs.append(r)
    await access.import_guests(
        store, event, b"email,name\ng1@example.org,Guest One\ng2@example.org,G2\n", "org@acme.test"
    )
    await access.mark_connected(
        store,
        event.id,
        (await access.get_guest(store, event.id, "g1@example.org")).invitation_id,
        1_700_000_100.0,
    )
    await sessions.open_session(
        store,
        event.id,
        "sid1",
        "inv_a",
        name="Ann",
        email="a@x.org",
        ip="10.0.0.1",
        language="fr",
        at=1_700_000_000.0,
    )
    await sessions.close_connection(store, event.id, "sid1", at=1_700_000_090.4)
    await sessions.open_session(
        store, event.id, "sid2", "inv_b", name="Bob", language="", at=1_700_000_050.0
    )
    await sessions.close_connection(store, event.id, "sid2", at=1_700_000_150.0)
    return server, key, event, regs


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_registrations_export(filled, fmt):
    server, key, event, regs = filled
    data, headers = await fetch(
        server, key, f"/api/v1/events/{event.id}/exports/registrations.{fmt}"
    )
    assert f'filename="{event.id}-registrations.{fmt}"' in headers["Content-Disposition"]
    rows = parse_csv(data) if fmt == "csv" else parse_xlsx(data)
    assert rows[0] == ["registered_at", "email", "name", "Company", "Opt-in"]
    assert len(rows) == 1 + len(regs)
    for r, row in zip(regs, rows[1:], strict=True):
        when = iso(r.created) if fmt == "csv" else utc(r.created).replace(microsecond=0)
        got = row[0] if fmt == "csv" else row[0].replace(microsecond=0)
        assert (
            abs(
                (
                    dt.datetime.fromisoformat(str(got)) - dt.datetime.fromisoformat(str(when))
                ).total_seconds()
            )
            <= 1
        )
        name = r.name if fmt == "xlsx" or not r.name.startswith("=") else "'" + r.name
        assert row[1:] == [
            r.email,
            name,
            r.answers["company"],
            "yes" if r.answers["optin"] else "no",
        ]
    if fmt == "xlsx":  # never a formula
        wb = openpyxl.load_workbook(io.BytesIO(data))
        assert wb.active.cell(row=9, column=3).data_type == "s"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_guests_activity_sessions_and_statistics_exports(filled, fmt):
    server, key, event, _ = filled
    parse = parse_csv if fmt == "csv" else parse_xlsx

    def when(at):
        return iso(at) if fmt == "csv" else (None if at is None else utc(at))

    base = f"/api/v1/events/{event.id}/exports"
    guests = parse((await fetch(server, key, f"{base}/guests.{fmt}"))[0])
    assert guests[0] == ["email", "name", "added_at", "added_by", "first_connected"]
    assert [g[:2] + g[3:] for g in guests[1:]] == [
        ["g1@example.org", "Guest One", "org@acme.test", when(1_700_000_100.0)],
        ["g2@example.org", "G2", "org@acme.test", "" if fmt == "csv" else None],
    ]
    activity = parse((await fetch(server, key, f"{base}/activity.{fmt}"))[0])
    assert activity[0] == ["at", "who", "action", "detail"]
    assert [a[1:] for a in activity[1:]] == [
        ["org@acme.test", "guests.imported", "2 added, 0 already listed, 0 refused"]
    ]
    rows = parse((await fetch(server, key, f"{base}/sessions.{fmt}"))[0])
    assert rows[0][:2] == ["session", "identity"] and len(rows[0]) == 12
    out = [r[1:] for r in rows[1:]]
    empty = "" if fmt == "csv" else None
    n = (lambda v: str(v)) if fmt == "csv" else (lambda v: v)
    assert out == [
        [
            "inv_a",
            "Ann",
            "a@x.org",
            "10.0.0.1",
            "fr",
            empty,
            when(1_700_000_000.0),
            when(1_700_000_090.4),
            n(90),
            "live",
            "participant",
        ],
        [
            "inv_b",
            "Bob",
            empty,
            empty,
            empty,
            empty,
            when(1_700_000_050.0),
            when(1_700_000_150.0),
            n(100),
            "live",
            "participant",
        ],
    ]
    stats = parse((await fetch(server, key, f"{base}/statistics.{fmt}"))[0])
    table = {r[0]: r[1] for r in stats[1:]}
    assert stats[0] == ["metric", "value"]
    assert table["visitors"] == n(2) and table["peak_concurrent"] == n(2)
    assert table["average_visit_seconds"] == n(95)
    assert table["peak_at"] == iso(1_700_000_050.0)
    assert table["language:fr"] == n(1) and table["language:unknown"] == n(1)
    assert "GeoIP" in table["geography"]
    cut = parse(
        (await fetch(server, key, f"{base}/statistics.{fmt}?from=1700000095&to=1700000200"))[0]
    )
    assert {r[0]: r[1] for r in cut[1:]}["visitors"] == n(1)


async def test_unknown_exports_and_formats(filled):
    server, key, event, _ = filled
    web = Web(server.url)
    try:
        status, _, _ = await _get(web, key, f"/api/v1/events/{event.id}/exports/secrets.csv")
        assert status == 404
        status, body, _ = await _get(web, key, f"/api/v1/events/{event.id}/exports/sessions.pdf")
        assert status == 400 and b"csv or xlsx" in body
        status, _, _ = await _get(
            web, "trb_nope", f"/api/v1/events/{event.id}/exports/sessions.csv"
        )
        assert status == 401
    finally:
        await web.close()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_control_characters_and_formulas_in_names_are_cleaned(server, fmt):
    """One participant's name must not break an export (issue 9, item 8): control characters
    are dropped from every cell, and in CSV a formula start is neutralised after that."""
    from moderation import questions
    from room.records import Person, now
    from room.types import Role

    account, key = await server.account()
    store = server.tribune.store
    event = await ev.create_event(
        store, account, ev.EventCreate(title="Names", access_mode=AccessMode.REGISTRATION)
    )
    asker = Person(
        identity="p-1", name="\x01=cmd()", role=Role.PARTICIPANT, base_role=Role.PARTICIPANT,
        joined_at=now(),
    )
    await questions.ask(store, event.id, asker, "Why\x01 =1+1?")
    await registration.register(
        store,
        event,
        registration.RegistrationForm(email="eve@example.org", name="Eve\x01 =cmd()"),
    )
    await registration.register(
        store,
        event,
        registration.RegistrationForm(email="mal@example.org", name="\x01=cmd()"),
    )
    quoted = "'" if fmt == "csv" else ""
    parse = parse_csv if fmt == "csv" else parse_xlsx
    data, _ = await fetch(server, key, f"/api/v1/events/{event.id}/questions.{fmt}")
    header, row = parse(data)
    got = dict(zip(header, row, strict=True))
    assert (got["author"], got["text"]) == (quoted + "=cmd()", "Why =1+1?")
    data, _ = await fetch(server, key, f"/api/v1/events/{event.id}/exports/registrations.{fmt}")
    names = sorted(row[2] for row in parse(data)[1:])
    assert names == sorted([quoted + "=cmd()", "Eve =cmd()"])
    if fmt == "xlsx":  # the cleaned "=cmd()" is a text cell, never a formula
        wb = openpyxl.load_workbook(io.BytesIO(data))
        cells = [wb.active.cell(row=r, column=3) for r in (2, 3)]
        assert all(c.data_type == "s" for c in cells)
