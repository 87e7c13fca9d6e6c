"""Access lists: add, CSV import with a per-row report, delete all, activity log, direct link."""

from __future__ import annotations

import pytest

from room import events as ev
from room.accounts.account import create_account
from room.audience import access
from room.errors import TribuneError
from room.records import Plan
from room.types import AccessMode

GOOD = "email,name\nann@example.org,Ann\nbob@example.org,Bob\n"


async def make_event(store):
    account, _ = await create_account(store, "Acme", Plan())
    return await ev.create_event(
        store, account, ev.EventCreate(title="Board", access_mode=AccessMode.ACCESS_LIST)
    )


async def listed(store, event_id):
    out = []
    async for page in access.guest_pages(store, event_id):
        out.extend(page)
    return out


async def test_add_one_guest_gives_a_personal_link_and_logs_it(store):
    event = await make_event(store)
    guest = await access.add_guest(store, event, " Ann@Example.org ", "Ann", "org@acme.test")
    assert guest.email == "ann@example.org" and guest.first_connected is None
    inv = await ev.load_invitation(store, event.id, guest.invitation_id)
    assert inv.role == "participant" and not inv.shared and inv.email == "ann@example.org"
    with pytest.raises(TribuneError) as err:
        await access.add_guest(store, event, "ann@example.org", "Ann again", "org@acme.test")
    assert err.value.code == "conflict"
    log = await access.activity(store, event.id)
    assert [(a.who, a.action, a.detail) for a in log] == [
        ("org@acme.test", "guest.added", "ann@example.org")
    ]
    await access.mark_connected(store, event.id, guest.invitation_id, 1234.0)
    await access.mark_connected(store, event.id, guest.invitation_id, 9999.0)
    assert (await access.get_guest(store, event.id, "ann@example.org")).first_connected == 1234.0


async def test_csv_import_reports_every_bad_row_and_adds_the_good(store):
    event = await make_event(store)
    data = (
        "Email;Name;Company\n"  # semicolons, as a French spreadsheet writes them
        "ann@example.org;Ann;Acme\n"
        "not-an-email;Nobody;X\n"
        "\n"
        "bob@example.org;Bob;Beta\n"
        "carl@example.org\n"  # missing columns
        "ANN@example.org;Ann twice;Acme\n"
        "dee@example.org;" + "D" * 201 + ";X\n"
        "élodie@exemple.fr;Élodie;Zêta\n"
    ).encode()
    report = await access.import_guests(store, event, data, "org@acme.test")
    view = report.view()
    assert view["rows"] == 7 and view["added"] == 3 and view["already"] == 0
    assert [(r["line"], r["reason"].split(" ")[0]) for r in view["refused"]] == [
        (3, "not"),
        (6, "missing"),
        (7, "repeats"),
        (8, "the"),
    ]
    assert view["refused"][0]["email"] == "not-an-email"
    assert "line 2" in view["refused"][2]["reason"]
    assert view["refused_count"] == 4
    guests = await listed(store, event.id)
    assert [(g.email, g.name) for g in guests] == [
        ("ann@example.org", "Ann"),
        ("bob@example.org", "Bob"),
        ("élodie@exemple.fr", "Élodie"),
    ]
    # the same file again adds nothing new
    again = await access.import_guests(store, event, data, "org@acme.test")
    assert (again.added, again.already, again.refused_count) == (0, 3, 4)
    assert len(await listed(store, event.id)) == 3
    assert len(await ev.list_invitations(store, event.id)) == 3
    actions = [a.action for a in await access.activity(store, event.id)]
    assert actions == ["guests.imported", "guests.imported"]


async def test_first_and_last_name_columns_and_headerless_files(store):
    event = await make_event(store)
    report = await access.import_guests(
        store, event, b"First name,Last name,E-mail\nAnn,Lee,ann@example.org\n", "me"
    )
    assert report.added == 1
    assert (await access.get_guest(store, event.id, "ann@example.org")).name == "Ann Lee"
    report = await access.import_guests(
        store, event, b"bob@example.org,Bob\ncid@example.org,Cid\n", "me"
    )
    assert report.added == 2 and report.rows == 2


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("email,name\nann@example.org,Anne-Sophie Lefèvre\n".encode("latin-1"), "not UTF-8"),
        ("email,name\nann@example.org,Ann\n".encode("utf-16"), "UTF-16"),
        (b"name,company\nAnn,Acme\n", "email"),
        (b"", "empty"),
        (b'email,name\n"ann@example.org,Ann\n', None),  # unterminated quote is just one row
    ],
)
async def test_a_bad_file_is_refused_whole(store, data, words):
    event = await make_event(store)
    if words is None:
        report = await access.import_guests(store, event, data, "me")
        assert report.added == 0 and report.refused_count == 1
        return
    with pytest.raises(TribuneError) as err:
        await access.import_guests(store, event, data, "me")
    assert err.value.code == "invalid" and err.value.field == "file"
    assert words in err.value.message
    assert await access.guest_count(store, event.id) == 0
    assert await ev.list_invitations(store, event.id) == []


async def test_a_file_over_10_mb_is_refused_and_nothing_is_imported(store):
    event = await make_event(store)
    row = b"someone.with.a.long.address@example.org,Someone With A Long Name\n"
    data = b"email,name\n" + row * (access.MAX_IMPORT_BYTES // len(row) + 1)
    assert len(data) > 10 * 1024 * 1024
    with pytest.raises(TribuneError) as err:
        await access.import_guests(store, event, data, "me")
    assert "larger than 10 MB" in err.value.message
    assert await access.guest_count(store, event.id) == 0


async def test_a_10_mb_file_of_bad_rows_lists_them_within_the_report_cap(store):
    event = await make_event(store)
    row = b"x" * 60 + b",Name\n"
    count = (access.MAX_IMPORT_BYTES - 20) // len(row)
    data = b"email,name\n" + row * count
    assert 9 * 1024 * 1024 < len(data) <= access.MAX_IMPORT_BYTES
    report = await access.import_guests(store, event, data, "me")
    assert report.added == 0 and report.refused_count == count
    assert len(report.refused) == access.MAX_REPORTED
    assert report.refused[0].line == 2 and report.refused[-1].line == access.MAX_REPORTED + 1


async def test_delete_all_withdraws_every_link(store):
    event = await make_event(store)
    await access.import_guests(store, event, GOOD.encode(), "me")
    guests = await listed(store, event.id)
    assert await access.delete_all(store, event, "me") == 2
    assert await access.guest_count(store, event.id) == 0 and await listed(store, event.id) == []
    for g in guests:
        with pytest.raises(TribuneError):
            await ev.load_invitation(store, event.id, g.invitation_id)
    # and the list can be filled again
    assert (await access.import_guests(store, event, GOOD.encode(), "me")).added == 2
    assert [a.action for a in await access.activity(store, event.id)] == [
        "guests.imported",
        "guests.deleted",
        "guests.imported",
    ]


async def test_direct_link_on_off_keeps_the_same_link(store):
    event = await make_event(store)
    assert await access.direct_link(store, event) is None
    inv = await access.set_direct_link(store, event, True, "me")
    assert inv is not None and inv.shared and inv.role == "participant"
    assert (await ev.load_event(store, event.id)).settings.direct_link is True
    assert await access.set_direct_link(store, event, False, "me") is None
    with pytest.raises(TribuneError):
        await ev.load_invitation(store, event.id, inv.id)
    assert (await ev.load_event(store, event.id)).settings.direct_link is False
    again = await access.set_direct_link(store, event, True, "me")
    assert again is not None and again.id == inv.id and again.gen == inv.gen
    assert [a.action for a in await access.activity(store, event.id)] == [
        "direct_link.enabled",
        "direct_link.disabled",
        "direct_link.enabled",
    ]
