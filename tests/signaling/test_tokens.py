"""Link and identity tokens: the hand-rolled HS256 signer writes the JWTs PyJWT reads, and
the cache of verified link tokens never lets through what the link no longer allows."""

from __future__ import annotations

import time

import jwt
import pytest

from room import events as ev
from room.errors import TribuneError
from room.types import Role
from signaling import tokens as tokens_module
from signaling.tokens import Tokens, encode_hs256
from tests.helpers import Refused

SECRET = "a-test-secret-of-at-least-32-bytes-long"


def test_signed_tokens_are_the_jwts_pyjwt_writes_and_reads() -> None:
    claims: dict[str, object] = {"ev": "e1", "inv": "i1", "role": "participant", "gen": 3}
    claims |= {"iat": 1_700_000_000, "exp": 2_000_000_000, "sh": 1}
    mine = encode_hs256(claims, SECRET.encode())
    assert mine == jwt.encode(claims, SECRET, algorithm="HS256")
    assert jwt.decode(mine, SECRET, algorithms=["HS256"]) == claims
    t = Tokens(SECRET)
    link = t.sign("e1", "i1", Role.PARTICIPANT, 3, shared=True)
    assert jwt.decode(link, SECRET, algorithms=["HS256"])["role"] == "participant"
    c = t.verify(link)
    assert (c.event_id, c.invitation, c.role, c.gen) == ("e1", "i1", Role.PARTICIPANT, 3)


def test_a_cached_token_still_expires() -> None:
    t = Tokens(SECRET, ttl=1)
    token = t.sign("e1", "i1", Role.PARTICIPANT, 1)
    exp = t.verify(token).exp
    assert t.verify(token).exp == exp  # from the cache
    while time.time() <= exp:
        time.sleep(0.1)
    with pytest.raises(TribuneError) as err:
        t.verify(token)
    assert "expired" in err.value.message


def test_a_forged_token_is_refused_after_its_original_was_cached() -> None:
    t = Tokens(SECRET)
    token = t.sign("e1", "i1", Role.PARTICIPANT, 1)
    t.verify(token)
    header, _body, sig = token.split(".")
    forged_body = encode_hs256({"ev": "e1", "inv": "i1", "role": "organizer", "gen": 1}, b"x")
    with pytest.raises(TribuneError):
        t.verify(".".join([header, forged_body.split(".")[1], sig]))
    with pytest.raises(TribuneError):
        t.verify(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens_module, "VERIFIED_CACHE", 8)
    t = Tokens(SECRET)
    first = t.sign("e1", "i0", Role.PARTICIPANT, 1)
    t.verify(first)
    for i in range(1, 20):
        t.verify(t.sign("e1", f"i{i}", Role.PARTICIPANT, 1))
    assert len(t._verified) == 8
    assert first not in t._verified
    assert t.verify(first).invitation == "i0"  # verified again, not refused


async def test_a_reissued_link_is_refused_though_its_token_was_verified(
    mem_server, no_tracebacks
) -> None:
    s = await mem_server.setup()
    store = mem_server.tribune.store
    inv = (await ev.list_invitations(store, s.event.id))[1]
    token = mem_server.token(inv)
    joined = await mem_server.client(token)  # verified, now in the cache
    await joined.close()
    await ev.reissue(store, s.event, inv.id)
    with pytest.raises(Refused) as err:
        await mem_server.client(token)
    assert err.value.code == "unauthorized" and "re-issued" in err.value.data["message"]
