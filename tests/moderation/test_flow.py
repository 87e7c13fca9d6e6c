"""Questions over real Socket.IO clients: 3 moderators, 200 participants and a second screen."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import openpyxl

from tests.helpers import http
from tests.moderation.wire import error, ok, on_screen, questions_seen, wait_until

PARTICIPANTS = 200


async def test_moderators_participants_and_screen(server):
    s = await server.setup(attendees=PARTICIPANTS + 10)
    mods = {
        role: await server.client(s.tokens[role], namespace="/manage", name=role)
        for role in ("organizer", "presenter", "collaborator")
    }
    org, pres, collab = mods["organizer"], mods["presenter"], mods["collaborator"]
    screen = await server.client(s.tokens["screen"], namespace="/screen")
    for c in (*mods.values(), screen):
        await c.wait_for("manage.state" if c is not screen else "screen.state")
    people = []
    for i in range(0, PARTICIPANTS, 50):
        people += await asyncio.gather(
            *(s.join("participant", name=f"Person {n}") for n in range(i, i + 50))
        )
    try:
        # every participant asks one question at the same time
        acks = await asyncio.gather(
            *(p.call("question.ask", {"text": f"Question {n}?"}) for n, p in enumerate(people))
        )
        ids = [ok(a)["question"]["id"] for a in acks]
        assert all(a["question"]["status"] == "received" for a in acks)
        assert len(set(ids)) == PARTICIPANTS
        for m in mods.values():
            seen = await wait_until(
                m, lambda m=m: (q := questions_seen(m)) and len(q) == PARTICIPANTS and q
            )
            assert {q["text"] for q in seen.values()} == {f"Question {n}?" for n in range(PARTICIPANTS)}
            assert all(q["name"].startswith("Person ") for q in seen.values())
        # each author learns about his own question only
        await people[7].wait_for("question.mine", lambda d: d["id"] == ids[7])
        assert {d["id"] for d in people[7].received["question.mine"]} == {ids[7]}
        assert "question.changed" not in people[7].received  # visibility none

        # three moderators at once: two push, one answers, one edits
        await asyncio.gather(
            *(org.call("question.push", {"id": q}) for q in ids[0:5]),
            *(pres.call("question.push", {"id": q}) for q in ids[5:10]),
        )
        shown = await wait_until(screen, lambda: len(on_screen(screen)) == 10 and on_screen(screen))
        staff_view = await wait_until(collab, lambda: (
            v := questions_seen(collab)) and all(v[q]["pushed"] for q in ids[:10]) and v)
        push_order = sorted(ids[:10], key=lambda q: staff_view[q]["pushed"])
        assert [q["id"] for q in shown] == push_order
        assert all("author" not in q and "votes" not in q for q in shown)  # the screen view
        # the author of a pushed question sees it is on screen
        await people[3].wait_for(
            "question.mine", lambda d: d["question"] and d["question"]["status"] == "on_screen"
        )

        for q in (ids[0], ids[6]):
            ok(await collab.call("question.answered", {"id": q}))
        version = staff_view[ids[1]]["version"]
        ok(await pres.call("question.edit", {"id": ids[1], "text": "Edited wording?", "version": version}))
        code, field = error(await org.call(
            "question.edit", {"id": ids[1], "text": "Stale wording", "version": version}
        ))
        assert (code, field) == ("conflict", "version")
        await wait_until(screen, lambda: len(on_screen(screen)) == 8)
        shown = on_screen(screen)
        assert [q["id"] for q in shown] == [q for q in push_order if q not in (ids[0], ids[6])]
        assert next(q for q in shown if q["id"] == ids[1])["text"] == "Edited wording?"
        # the screen never receives questions that are not on it
        screen_ids = {d["id"] for d in screen.received["question.changed"]}
        assert screen_ids <= set(ids[:10])
        # a fresh snapshot agrees with what the live screen shows
        snap = ok(await screen.call("screen.get"))
        assert [q["id"] for q in snap["questions"]] == [q["id"] for q in shown]

        # each moderator saw the others' actions live
        for m in mods.values():
            await wait_until(m, lambda m=m: (v := questions_seen(m))[ids[0]]["answered"]
                             and v[ids[1]]["text"] == "Edited wording?")

        # the audit trail has every action, with who did it, before and after
        entries = ok(await collab.call("audit.list", {"limit": 500}))["entries"]
        by_action: dict[str, list[Any]] = {}
        for e in entries:
            by_action.setdefault(e["action"], []).append(e)
        assert len(by_action["question.push"]) == 10
        assert {e["target"] for e in by_action["question.push"]} == {f"question:{q}" for q in ids[:10]}
        pushers = {e["by_role"] for e in by_action["question.push"]}
        assert pushers == {"organizer", "presenter"}
        assert [e["by_role"] for e in by_action["question.answer"]] == ["collaborator"] * 2
        [edit] = by_action["question.edit"]
        assert edit["before"]["text"] == "Question 1?" and edit["after"]["text"] == "Edited wording?"
        assert edit["by_role"] == "presenter" and edit["at"] > 0
        assert len(entries) == 13

        # exports over HTTP (API key) parse back to the same rows the manager page shows
        base = f"{server.url}/api/v1/events/{s.event.id}"
        status, body = await _get(f"{base}/questions.csv", s.api_key)
        assert status == 200
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
        final = questions_seen(org)
        assert len(rows) == PARTICIPANTS
        assert {r["id"]: r["text"] for r in rows} == {q: v["text"] for q, v in final.items()}
        assert {r["id"] for r in rows if r["answered"] == "yes"} == {ids[0], ids[6]}
        assert {r["id"]: r["pushed"] for r in rows if r["pushed"]} == {
            q: str(final[q]["pushed"]) for q in ids[:10]
        }
        status, body = await _get(f"{base}/questions.xlsx", s.api_key)
        assert status == 200
        sheet = openpyxl.load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
        xrows = list(sheet.iter_rows(values_only=True))
        header = list(xrows[0])
        assert [dict(zip(header, ["" if v is None else str(v) for v in r], strict=True)) for r in xrows[1:]] == rows
        # the audit trail export has as many rows as the trail
        status, body = await _get(f"{base}/audit.csv", s.api_key)
        arows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
        assert [r["action"] for r in arows] == [e["action"] for e in entries]

        # from the manager page: a signed, short-lived link for one export
        link = ok(await collab.call("export.link", {"dataset": "questions", "format": "csv"}))
        status, body = await _get(server.url + link["url"])
        assert status == 200 and body.decode("utf-8-sig").count("\n") == PARTICIPANTS + 1
        wrong = link["url"].replace("questions.csv", "audit.csv")
        assert (await _get(server.url + wrong))[0] == 403
        assert (await _get(f"{base}/questions.csv"))[0] == 401
        assert (await _get(f"{base}/questions.csv", s.tokens["participant"]))[0] == 403
        assert (await _get(f"{base}/questions.csv", s.tokens["collaborator"]))[0] == 200
    finally:
        await asyncio.gather(*(c.close() for c in [*people, *mods.values(), screen]))


async def _get(url: str, key: str | None = None) -> tuple[int, bytes]:
    import aiohttp

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as r:
        return r.status, await r.read()


async def test_export_of_an_empty_event_has_only_the_header(server):
    s = await server.setup()
    status, body = await http("GET", f"{server.url}/api/v1/events/{s.event.id}/polls.csv", s.api_key)
    assert status == 200 and body.strip().splitlines()[0].lstrip("\ufeff").startswith("poll,")
