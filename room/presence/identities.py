"""Identities on shared links: the server issues them, never the client.

A personal link is one identity (its invitation). A shared link (the public participant
link) is one identity per person, and the server chooses it: on a first connect without
an identity token it issues a new one here, and the edge signs it into an identity token
(`signaling.auth.Tokens.sign_identity`) that the page presents on every reconnect. A new
device or a cleared page therefore never evades a ban, a chat mute, the question
throttle or the one-vote-per-person rule of the identity it had.

Issuing is limited per client address (`RATES.identity_per_ip`, or the server's
configured rate), and a ban also refuses new identities to the address the banned
person last joined from, for as long as the server's address ban lasts
(`--address-ban`, seconds; 0 turns it off).
"""

from __future__ import annotations

import secrets

from room import keys, ratelimit
from room.errors import Code, TribuneError
from room.ratelimit import Rate
from room.records import Invitation, now
from room.store import Store


async def issue(store: Store, inv: Invitation, address: str, rate: Rate) -> str:
    """A new identity of the shared link `inv` for a person joining from `address`;
    `banned` while the address is banned from the event, `rate_limited` beyond `rate`."""
    if await address_banned(store, inv.event_id, address):
        raise TribuneError(Code.BANNED, "you were removed from this event")
    if not await ratelimit.allow(store, keys.identity_ip_scope(address), rate):
        raise TribuneError(Code.RATE_LIMITED, "too many new attendees from your address; wait")
    return inv.id + "." + secrets.token_hex(8)


async def seen(store: Store, event_id: str, identity: str, address: str) -> None:
    """Remember the address an identity of a shared link joined from (for a later ban)."""
    if address:
        await store.hset(keys.identity_addresses(event_id), identity, address.encode())


async def ban_address(store: Store, event_id: str, identity: str, seconds: float) -> None:
    """Refuse new identities, for `seconds`, to the address `identity` last joined from."""
    raw = await store.hget(keys.identity_addresses(event_id), identity)
    if raw is None or seconds <= 0:
        return
    await store.hset(keys.banned_addresses(event_id), raw.decode(), str(now() + seconds).encode())


async def address_banned(store: Store, event_id: str, address: str) -> bool:
    raw = await store.hget(keys.banned_addresses(event_id), address)
    return raw is not None and float(raw) > now()
