"""The compare-and-set update loop (`room.cas.update`), on every store backend."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from room import cas
from room.errors import Code, TribuneError, not_found
from room.records import decode, encode
from room.store import Store


class Counter(msgspec.Struct):
    n: int = 0
    note: str = ""


def bump(c: Counter) -> None:
    c.n += 1


async def stored(store: Store) -> Counter | None:
    raw = await store.hget("h", "c")
    return None if raw is None else decode(raw, Counter)


async def test_a_change_is_written_and_both_values_returned(store: Store) -> None:
    await store.hset("h", "c", encode(Counter(n=1)))
    done = await cas.update(store, "h", "c", Counter, bump, missing=None, conflict="busy")
    assert done == cas.Updated(Counter(n=1), Counter(n=2))
    assert await stored(store) == Counter(n=2)


async def test_a_missing_record_is_none_or_the_given_error(store: Store) -> None:
    assert await cas.update(store, "h", "c", Counter, bump, missing=None, conflict="busy") is None
    with pytest.raises(TribuneError) as err:
        await cas.update(store, "h", "c", Counter, bump, missing=not_found("counter"), conflict="x")
    assert err.value.to_wire() == {"code": "not_found", "message": "counter not found"}
    assert await stored(store) is None


async def test_a_change_that_raises_refuses_and_writes_nothing(store: Store) -> None:
    await store.hset("h", "c", encode(Counter(n=1)))

    def refuse(c: Counter) -> None:
        c.n = 99
        raise TribuneError(Code.CONFLICT, "stale", "version")

    with pytest.raises(TribuneError, match="stale"):
        await cas.update(store, "h", "c", Counter, refuse, missing=None, conflict="busy")
    assert await stored(store) == Counter(n=1)


async def test_no_change_writes_nothing(store: Store) -> None:
    # Stored without its defaults: a write would re-encode it with them.
    raw = msgspec.msgpack.encode({"n": 3})
    await store.hset("h", "c", raw)
    done = await cas.update(store, "h", "c", Counter, lambda c: None, missing=None, conflict="x")
    assert done == cas.Updated(Counter(n=3), Counter(n=3))
    assert await store.hget("h", "c") == raw


async def test_delete_removes_the_record_and_returns_what_it_was(store: Store) -> None:
    await store.hset("h", "c", encode(Counter(n=5)))
    done = await cas.update(
        store, "h", "c", Counter, lambda c: cas.DELETE, missing=None, conflict="busy"
    )
    assert done is not None and done.before == Counter(n=5)
    assert await store.hget("h", "c") is None


async def test_a_record_changed_every_round_ends_in_conflict(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.hset("h", "c", encode(Counter()))
    real_hcas = store.hcas
    rounds = 0

    async def racing(key: str, field: str, expected: bytes | None, value: bytes | None) -> bool:
        nonlocal rounds
        rounds += 1
        await store.hset(key, field, encode(Counter(note=f"other writer {rounds}")))
        return await real_hcas(key, field, expected, value)

    monkeypatch.setattr(store, "hcas", racing)
    with pytest.raises(TribuneError) as err:
        await cas.update(store, "h", "c", Counter, bump, missing=None, conflict="too busy")
    assert err.value.to_wire() == {"code": "conflict", "message": "too busy"}
    assert rounds == cas.ATTEMPTS
    quiet = await cas.update(
        store, "h", "c", Counter, bump, missing=None, conflict=None, attempts=3
    )
    assert quiet is None
    assert rounds == cas.ATTEMPTS + 3
    assert await stored(store) == Counter(note=f"other writer {rounds}")


async def test_hundreds_of_concurrent_updates_lose_none(store: Store) -> None:
    await store.hset("h", "c", encode(Counter()))
    # Each lost round means another update won, so as many rounds as updates always suffice.
    await asyncio.gather(
        *(
            cas.update(store, "h", "c", Counter, bump, missing=None, conflict="x", attempts=300)
            for _ in range(300)
        )
    )
    assert await stored(store) == Counter(n=300)


async def test_concurrent_updates_and_a_delete_never_resurrect_the_record(store: Store) -> None:
    await store.hset("h", "c", encode(Counter()))
    # Each of the 101 writers wins once, so none loses more than 100 rounds: 300 attempts
    # can never run out, whatever the interleaving (50 did, once, on a loaded machine).
    results = await asyncio.gather(
        *(
            cas.update(store, "h", "c", Counter, bump, missing=None, conflict="x", attempts=300)
            for _ in range(50)
        ),
        cas.update(
            store, "h", "c", Counter, lambda c: cas.DELETE, missing=None, conflict="x", attempts=300
        ),
        *(
            cas.update(store, "h", "c", Counter, bump, missing=None, conflict="x", attempts=300)
            for _ in range(50)
        ),
    )
    assert await stored(store) is None
    deleted = results[50]
    assert deleted is not None
    done = [r for r in results[:50] + results[51:] if r is not None]
    assert sorted(r.after.n for r in done) == list(range(1, len(done) + 1))
    assert deleted.before.n == len(done)
