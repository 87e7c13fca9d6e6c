"""Paging through records kept as a hash by key plus an append-only order list."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from room.records import decode
from room.store import Store

T = TypeVar("T")


async def ordered_pages(
    store: Store,
    order_key: str,
    hash_key: str,
    kind: type[T],
    current: Callable[[T, str], bool],
    page: int,
    start: int = 0,
) -> AsyncIterator[list[T]]:
    """Records in the order they were appended, `page` at a time.

    Each order entry is `"{key}\\n{id}"`; an entry whose record was replaced or
    deleted since (`current(record, id)` false, or no record) is skipped.
    """
    while True:
        entries = await store.lrange(order_key, start, start + page - 1)
        if not entries:
            return
        start += len(entries)
        pairs = [e.decode().split("\n", 1) for e in entries]
        raws = await store.hmget(hash_key, [key for key, _ in pairs])
        out = []
        for (_, ident), raw in zip(pairs, raws, strict=True):
            if raw is not None:
                record = decode(raw, kind)
                if current(record, ident):
                    out.append(record)
        if out:
            yield out
