"""kill -9 of one of two nodes behind haproxy while participants on both ask questions,
up-vote, vote in an open poll and register over HTTP: nothing acknowledged is lost, staff on
the survivor hear `roster.left` for everyone on the dead node, whose sessions are closed and
whose seats and stage slots are freed after grace; the survivor logs no traceback."""

from __future__ import annotations

import asyncio
import secrets

from moderation import polls, questions, votes
from room import keys
from room.audience import registration, sessions
from room.presence import roster
from room.stage import on_stage
from room.types import SeatPool
from tests.cluster.checks import person_id
from tests.cluster.cluster import Cluster
from tests.cluster.load import Ledger, participant, registrations
from tests.helpers import Client, http
from tests.media.test_stage_leaving import wait_for_open_sessions
from tests.media.test_stage_wire import WirePublisher

EACH = 4
"""Participants connected straight to each node (and as many through the balancer)."""


async def test_kill_9_of_a_node_under_load_loses_nothing_acknowledged(cluster: Cluster) -> None:
    w = await cluster.webinar()
    reg = await cluster.webinar("registration")
    a, b = cluster.a, cluster.b
    org = await cluster.join(w, "organizer", via=b)
    manager = await cluster.join(w, "organizer", via=b, namespace="/manage")
    await manager.wait_for("manage.state")
    assert (await manager.call("question.settings", {"visibility": "all"}))["ok"]
    poll = await manager.call("poll.create", {"question": "Which?", "options": ["x", "y", "z"]})
    assert poll["ok"], poll
    assert (await manager.call("poll.open", {"id": poll["poll"]["id"]}))["ok"]

    on_a = [await cluster.join(w, "participant", via=a) for _ in range(EACH)]
    on_b = [await cluster.join(w, "participant", via=b) for _ in range(EACH)]
    hashed = [await cluster.join(w, "participant") for _ in range(EACH)]  # all on A or on B
    presenter = WirePublisher(await cluster.join(w, "presenter", via=a), audio=False)
    people = [*on_a, *on_b, *hashed, presenter.client]
    ids = {id(c): await person_id(c) for c in people}  # Client is unhashable
    for pid in ids.values():
        await org.wait_for("roster.joined", lambda d, pid=pid: d["person"]["person"] == pid)
    try:
        assert (await presenter.publish(("camera",)))["ok"]
        await org.wait_for(
            "stage.changed", lambda d: ids[id(presenter.client)] in d["stage"]["camera"]
        )
        await wait_for_open_sessions(cluster.store, w.event.id, list(ids.values()))

        ledger = Ledger()
        stop = asyncio.Event()
        voters = [*on_a, *on_b, *hashed]
        tasks = [
            asyncio.create_task(participant(c, ids[id(c)], poll["poll"]["id"], ledger, stop))
            for c in voters
        ] + [
            asyncio.create_task(registrations(n.url, reg.event.id, n.name, ledger, stop))
            for n in (a, b, cluster.balancer)
        ]
        await asyncio.sleep(2)
        await a.kill()
        await asyncio.sleep(2)
        stop.set()
        await asyncio.gather(*tasks)
    finally:
        await presenter.close()

    assert not ledger.failures, ledger.failures
    assert all(not c.connected for c in on_a) and all(c.connected for c in on_b)
    gone = [ids[id(c)] for c in people if not c.connected]
    stayed = [ids[id(c)] for c in people if c.connected]
    assert len(gone) in (EACH + 1, 2 * EACH + 1), gone  # A's own, and the hashed ones if on A

    # Staff on the survivor hear roster.left for everyone on the dead node.
    for pid in gone:
        await org.wait_for("roster.left", lambda d, pid=pid: d["person"]["person"] == pid, 15)
    store, event_id = cluster.store, w.event.id
    listed = {p.identity for p in await roster.people(store, event_id)}
    assert listed == {*stayed, await person_id(org)}, listed  # /manage takes no place

    # Their sessions are closed; their seats and stage slots are free.
    records = await sessions.all_sessions(store, event_id)
    for pid in gone:
        mine = [r for r in records if r.identity == pid]
        assert mine and all(r.end is not None for r in mine), mine
    for pool in SeatPool:
        held = await store.slot_members(keys.seats(event_id, pool))
        assert not held & set(gone), (pool, held & set(gone))
    assert await on_stage(store, event_id) == {"camera": [], "mic": [], "screen": []}

    # Nothing acknowledged is lost.
    asked = {q.id for q in await questions.all_questions(store, event_id)}
    assert ledger.questions and set(ledger.questions) <= asked
    assert ledger.votes
    for qid, voter in ledger.votes:
        assert qid in await votes.voted_by(store, event_id, voter), (qid, voter)
    poll_id = poll["poll"]["id"]
    assert ledger.acked_ballot
    for voter, last in ledger.acked_ballot.items():
        ballot = await polls.ballot_of(store, event_id, poll_id, voter)
        assert ballot in ledger.ballots[voter][last:], (voter, ballot, ledger.ballots[voter])
    registered = {r.email: r.id for r in await registration.all_registrations(store, reg.event.id)}
    assert ledger.registrations and ledger.registrations.items() <= registered.items()
    assert {e.split("-")[0] for e in ledger.registrations} >= {"a", "b"}

    # What was in flight when A died is sent again on the survivor with the same cid, as a
    # page does: each answers ok, and nothing is duplicated.
    retried = 0
    for c in people:
        me = ids[id(c)]
        if c.connected or me not in ledger.in_flight:
            continue
        back = Client(b.url + f"/?event={w.event.id}")
        cluster.clients.append(back)
        await back.connect(
            w.tokens["participant"], secrets.token_hex(8), identity=await c.identity()
        )
        cid, text = ledger.in_flight[me]
        for _ in range(30):  # a first try that never reached A is a new ask: rate-limited
            ack = await back.call("question.ask", {"text": text, "cid": cid})
            if ack["ok"] or ack["error"]["code"] != "rate_limited":
                break
            await asyncio.sleep(0.5)
        assert ack["ok"], ack
        retried += 1
    route = f"{b.url}/api/v1/public/events/{reg.event.id}/registrations"
    for email, cid in ledger.registering.items():
        form = {"email": email, "name": "again", "cid": cid}
        status, body = await http("POST", route, json=form)
        assert status == 201, (status, body)
        retried += 1
    texts = [(q.author, q.text) for q in await questions.all_questions(store, event_id)]
    assert len(texts) == len(set(texts)), "a retried question was duplicated"
    regs = await registration.all_registrations(store, reg.event.id)
    assert len({r.email for r in regs}) == len(regs)

    # The survivor goes on, and logged no traceback.
    survivor: Client = on_b[0]
    assert (await survivor.call("hand.raise")) == {"ok": True}
    assert b.tracebacks() == [], b.output()[-4000:]
    print(
        f"acknowledged: {len(ledger.questions)} questions, {len(ledger.votes)} votes, "
        f"{len(ledger.acked_ballot)} ballots, {len(ledger.registrations)} registrations; "
        f"{len(gone)} people on the dead node; {retried} in-flight calls sent again"
    )
