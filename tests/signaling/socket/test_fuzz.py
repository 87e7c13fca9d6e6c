"""The Socket.IO fuzz test of issue 9: every client event docs/protocol.md names, from every
role, on every namespace that role may open, with a corpus of bad payloads and the reserved
and unknown names.

Pass means: every call that asks for an ack gets a well-formed one (`{ok: true, ...}` or
`{ok: false, error: {code, message}}` with a code of the closed set), never `internal`; no
traceback reaches the server log; a passive participant stays connected and can `sync`;
`/healthz` stays 200; the seat count and roster are what they were (so the forged
`connect`/`disconnect` took no seat and dropped nobody).

The events are read from the protocol's tables (`| event | who (action) | payload | ack |`),
each under the nearest heading that names its namespace, so a new event is fuzzed as soon
as it is documented. The full product is sent: whole-payload cases for every event, and for
every field the payload column names, that field alone set to each bad value, and for
events on an `id`, a real question, chat message and poll with each other field bad.
Nothing is sampled (about 7,700 calls per store backend, a few seconds here) because every
connection fuzzes in parallel with the rate limit raised in the server's config
(`rate_limited` would still count as a well-formed refusal). `event.end` is fuzzed last, so a payload it accepts (none: it
takes no fields) does not end the event before the other events had their turn.
"""

from __future__ import annotations

import asyncio
import math
import re
import secrets
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from room.errors import Code
from tests.conftest import ServerFactory
from tests.helpers import Client, Server, Setup

PROTOCOL = Path(__file__).resolve().parents[3] / "docs" / "protocol.md"

CLIENT_TABLE = "| event | who (action) | payload | ack |"
NAMESPACE = re.compile(r"`(/room|/manage|/screen)`")
ROW = re.compile(r"^\| `([a-z_.]+)` \| [^|]* \| (.*?) \| ")
FIELD = re.compile(r"[{,]\s*([a-z_]+)\??(?=[:,}\s])")

OPENS: dict[str, tuple[str, ...]] = {
    "organizer": ("/room", "/manage", "/screen"),
    "presenter": ("/room", "/manage", "/screen"),
    "collaborator": ("/room", "/manage", "/screen"),
    "participant": ("/room",),
    "screen": ("/screen",),
}
"""Which namespaces each role may open (docs/protocol.md, "Namespaces")."""

LAST = ("event.end",)
"""Fuzzed after every other event: a payload it accepts ends the event."""

CODES = {c.value for c in Code} - {Code.INTERNAL.value}


def client_events(text: str) -> dict[str, dict[str, list[str]]]:
    """namespace → event → the payload's field names, from the protocol's client tables."""
    out: dict[str, dict[str, list[str]]] = {"/room": {}, "/manage": {}, "/screen": {}}
    namespace = ""
    in_table = False
    for line in text.splitlines():
        if line.startswith("#"):
            found = NAMESPACE.search(line)
            if found:
                namespace = found.group(1)
            in_table = False
        elif line.startswith(CLIENT_TABLE):
            in_table = True
        elif in_table and line.startswith("|"):
            row = ROW.match(line)
            if row:
                assert namespace, line
                payload = row.group(2).replace("\\|", "|")
                fields = list(dict.fromkeys(FIELD.findall(payload.split("`")[1])))
                out[namespace][row.group(1)] = fields
        else:
            in_table = False
    return out


def test_the_protocol_tables_are_read() -> None:
    events = client_events(PROTOCOL.read_text(encoding="utf-8"))
    assert events["/room"]["role.set"] == ["person", "role"]
    assert events["/room"]["sync"] == ["rev", "full"]
    assert events["/room"]["media.publish"][:2] == ["sdp", "sources"]
    assert "hand.raise" in events["/room"] and "stats.get" in events["/manage"]
    assert set(events["/screen"]) == {"screen.get", "sync"}
    assert sum(map(len, events.values())) > 40


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for i in range(depth):
        value = [value] if i % 2 else {"n": value}
    return value


HUGE = 2**64 - 1
TINY = -(2**63)
LONG = "x" * 70_000
WEIRD = "\x00\x01\x1b[31m\u202e\u2066evil\u2069\u200f\ufeff\x7f"

BAD_VALUES: list[Any] = [
    None,
    True,
    "text",
    HUGE,
    TINY,
    -1,
    math.nan,
    math.inf,
    LONG,
    WEIRD,
    nested(40),
    [],
    {},
]
"""Each payload field is set to each of these in turn."""

NO_PAYLOAD = object()

WHOLE: list[Any] = [
    NO_PAYLOAD,
    None,
    0,
    HUGE,
    TINY,
    math.nan,
    "",
    LONG,
    WEIRD,
    [],
    [{}],
    nested(40),
    {"unknown_field": 1},
    {"": None, "\u202e": WEIRD},
    ({}, {}),
    ({"unknown": 1}, "second"),
]
"""Whole-payload cases; a tuple is sent as that many payloads."""

RESERVED_NAMES = ("connect", "disconnect", "*", "connect_error", "no.such." + secrets.token_hex(3))


def payloads(fields: list[str], ids: list[str]) -> Iterator[Any]:
    yield from WHOLE
    for name in fields:
        for value in BAD_VALUES:
            yield {name: value}
        yield {**{f: "x" for f in fields}, name: 7, "extra": True}
    if "id" in fields:
        # a real question, message or poll with each other field bad, to get past the lookup
        for real in ids:
            for name in fields:
                if name != "id":
                    for value in BAD_VALUES:
                        yield {"id": real, name: value}


def args(payload: Any) -> Any:
    """What `sio.call` sends: a tuple is that many arguments, `None` none at all."""
    if payload is NO_PAYLOAD:
        return None
    if isinstance(payload, tuple):
        return payload
    return (payload,)


def well_formed(ack: Any) -> bool:
    if not isinstance(ack, dict) or not isinstance(ack.get("ok"), bool):
        return False
    if ack["ok"]:
        return True
    error = ack.get("error")
    return (
        isinstance(error, dict)
        and error.get("code") in CODES
        and isinstance(error.get("message"), str)
    )


async def fuzz(
    client: Client, role: str, events: dict[str, list[str]], ids: list[str], tally: Counter[str]
) -> list[str]:
    """Send the whole corpus on one connection; returns what went wrong."""
    problems: list[str] = []
    ns = client.namespace
    order = [e for e in events if e not in LAST] + [e for e in events if e in LAST]
    calls: list[tuple[str, Any]] = [(e, p) for e in order for p in payloads(events[e], ids)]
    for name in RESERVED_NAMES:
        calls += [(name, p) for p in ({}, None, ({}, {"token": "x", "device": "d" * 16}))]
    # reserved names first, so the forged connect/disconnect come before everything else
    calls.sort(key=lambda c: c[0] not in RESERVED_NAMES)
    for event, payload in calls:
        if event in RESERVED_NAMES:
            await client.sio.emit(event, args(payload), namespace=ns)  # no ack: dropped
        try:
            ack = await client.sio.call(event, args(payload), namespace=ns, timeout=20)
        except TimeoutError:
            problems.append(f"{role} {ns} {event} {str(payload)[:80]}: no ack")
            continue
        if not well_formed(ack):
            problems.append(f"{role} {ns} {event} {str(payload)[:80]}: {str(ack)[:200]}")
            continue
        tally["ok" if ack["ok"] else ack["error"]["code"]] += 1
    return problems


def census(state: dict[str, Any]) -> tuple[int, list[tuple[str, str, bool]]]:
    roster = sorted((p["person"], p["role"], p["connected"]) for p in state["roster"])
    return state["count"], roster


async def healthz(server: Server) -> int:
    async with aiohttp.ClientSession() as s, s.get(server.url + "/healthz") as r:
        return r.status


async def test_every_event_every_role_every_namespace_survives_bad_input(
    make_server: ServerFactory,
    backend: str,
    request: pytest.FixtureRequest,
    no_tracebacks: pytest.LogCaptureFixture,
) -> None:
    events = client_events(PROTOCOL.read_text(encoding="utf-8"))
    redis_url = request.getfixturevalue("redis_url") if backend == "redis" else None
    server = await make_server(redis_url=redis_url, rate_per_second=1e6, rate_burst=1e6)
    hub = server.tribune.hub
    assert hub is not None
    served = {ns: set(hub.namespaces[ns].routes) for ns in events}
    assert served == {ns: set(e) for ns, e in events.items()}, "document every served event"
    s: Setup = await server.setup()
    passive = await s.join("participant", name="Passive")
    await passive.wait_for("room.state")
    fuzzers: list[tuple[str, Client]] = []
    for role, namespaces in OPENS.items():
        for ns in namespaces:
            client = await server.client(s.tokens[role], namespace=ns)
            fuzzers.append((role, client))
    organizer = next(c for r, c in fuzzers if r == "organizer" and c.namespace == "/room")
    manager = next(c for r, c in fuzzers if r == "organizer" and c.namespace == "/manage")
    ids = [
        (await passive.call("question.ask", {"text": "Seed question?"}))["question"]["id"],
        (await passive.call("chat.send", {"text": "seed message"}))["message"]["id"],
    ]
    poll = await manager.call("poll.create", {"question": "Seed?", "options": ["a", "b"]})
    ids.append(poll["poll"]["id"])
    assert (await manager.call("poll.open", {"id": ids[-1]}))["ok"]
    before = census((await organizer.call("sync", {"rev": 0, "full": True}))["snapshot"])

    tally: Counter[str] = Counter()
    results = await asyncio.gather(
        *(fuzz(c, role, events[c.namespace], ids, tally) for role, c in fuzzers)
    )

    problems = [p for found in results for p in found]
    assert not problems, "\n".join(problems[:50])
    # the corpus reached the handlers: most refused, some accepted, none lost
    assert tally["invalid"] > 4000 and tally["ok"] > 20 and tally["forbidden"] > 50, tally
    assert await healthz(server) == 200
    assert passive.connected
    synced = await passive.call("sync", {"rev": 0, "full": True})
    assert synced["ok"], synced
    assert all(c.connected for _, c in fuzzers)
    after = census((await organizer.call("sync", {"rev": 0, "full": True}))["snapshot"])
    assert after == before
