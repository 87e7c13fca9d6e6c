"""Concurrent load on the cluster, and the ledger of what it got acknowledged: questions,
question votes, poll ballots and HTTP registrations. Questions and registrations carry a
client id (`cid`): one whose ack never came (its node died) is kept in `in_flight`, for the
test to send again on the survivor, as a page does."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.helpers import Client

PAUSE = 0.15
"""Between one participant's rounds of three calls: under the 20 events/s per connection."""


@dataclass
class Ledger:
    questions: dict[str, str] = field(default_factory=dict)
    """Acknowledged question id -> its asker."""
    votes: set[tuple[str, str]] = field(default_factory=set)
    """Acknowledged up-votes: (question id, voter)."""
    ballots: dict[str, list[list[int]]] = field(default_factory=lambda: defaultdict(list))
    """Each voter's ballots in the order sent."""
    acked_ballot: dict[str, int] = field(default_factory=dict)
    """Each voter's last acknowledged ballot (an index into `ballots`)."""
    registrations: dict[str, str] = field(default_factory=dict)
    """Acknowledged (201) registration: e-mail -> registration id."""
    in_flight: dict[str, tuple[str, str]] = field(default_factory=dict)
    """A question whose ack never came: asker -> (cid, text)."""
    registering: dict[str, str] = field(default_factory=dict)
    """A registration whose answer never came: e-mail -> cid."""
    failures: list[str] = field(default_factory=list)
    """Calls that failed on a connection that stayed up (a bug, whatever the fault)."""

    def refused(self, what: str, ack: dict[str, Any]) -> None:
        """A refusal other than a rate limit (the load runs near them on purpose)."""
        if ack["error"]["code"] != "rate_limited":
            self.failures.append(f"{what}: {ack}")


async def participant(
    c: Client, me: str, poll_id: str, ledger: Ledger, stop: asyncio.Event
) -> None:
    """Ask, up-vote others' questions and re-vote in the poll until `stop` or the
    connection dies."""
    n = 0
    while not stop.is_set():
        n += 1
        try:
            cid, text = f"ask-{n}", f"{me} asks #{n}"
            ledger.in_flight[me] = (cid, text)
            ack = await c.call("question.ask", {"text": text, "cid": cid})
            del ledger.in_flight[me]
            if ack["ok"]:
                ledger.questions[ack["question"]["id"]] = me
            else:
                ledger.refused("question.ask", ack)
            others = [q for q, who in ledger.questions.items() if who != me]
            if others:
                qid = others[n % len(others)]
                ack = await c.call("question.vote", {"id": qid})
                if ack["ok"]:
                    ledger.votes.add((qid, me))
                else:
                    ledger.refused("question.vote", ack)
            ledger.ballots[me].append([n % 3])
            ack = await c.call("poll.vote", {"id": poll_id, "choices": [n % 3]})
            if ack["ok"]:
                ledger.acked_ballot[me] = len(ledger.ballots[me]) - 1
            else:
                ledger.refused("poll.vote", ack)
        except Exception as err:
            if c.connected:
                ledger.failures.append(f"{type(err).__name__}: {err}")
            return  # its node died: whatever was in flight is not acknowledged
        await asyncio.sleep(PAUSE)


async def registrations(
    url: str, event_id: str, tag: str, ledger: Ledger, stop: asyncio.Event
) -> None:
    """POST registrations (one new e-mail each) until `stop`; a refused connection or a
    5xx (the node or the balancer's backend is gone) is not acknowledged."""
    n = 0
    route = f"{url}/api/v1/public/events/{event_id}/registrations"
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as s:
        while not stop.is_set():
            n += 1
            email = f"{tag}-{n}@example.org"
            ledger.registering[email] = cid = f"reg-{tag}-{n}"
            try:
                form = {"email": email, "name": f"{tag} {n}", "cid": cid}
                async with s.post(route, json=form) as r:
                    body = await r.json(content_type=None)
                    if r.status < 500:  # answered; a 5xx is the balancer's: not acknowledged
                        del ledger.registering[email]
                    if r.status == 201:
                        ledger.registrations[email] = body["registration"]["id"]
                    elif r.status < 500:
                        ledger.failures.append(f"registration {r.status}: {body}")
            except (aiohttp.ClientError, TimeoutError, ValueError):
                pass
            await asyncio.sleep(0.02)
