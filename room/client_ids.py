"""Client ids (`cid`): a create that is retried answers the record the first try made.

A page that sends `question.ask`, `chat.send` or a registration names the attempt with a
client id of its own. Before the record is written, the id it will have is reserved under
"{cid}:{author}" in the event's hash of client ids (`Store.hsetnx`): every retry finds
that reservation and either answers the record, or, when the first try has not written
it yet (or died before it could), writes it under the same id, which the store creates
once (`hsetnx_capped` / `hsetnx`). So there is no moment in which a retry could make a
second record.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from room.store import Store

CID_PATTERN = "^[A-Za-z0-9_-]+$"
CID_LENGTH = 64

Cid = Annotated[str, msgspec.Meta(min_length=1, max_length=CID_LENGTH, pattern=CID_PATTERN)]
"""A client id: 1 to 64 characters, each a letter A to Z or a to z, a digit, `_` or `-`."""


async def claim(
    store: Store, key: str, cid: str | None, author: str, fresh: str
) -> tuple[str, bool]:
    """The id of the record that `author`'s client id `cid` creates in hash `key`:
    (`fresh`, True) when this call reserved it (or there is no `cid`), else the id the
    first try reserved and False (this call is a retry)."""
    if cid is None:
        return fresh, True
    field = f"{cid}:{author}"
    while not await store.hsetnx(key, field, fresh.encode()):
        first = await store.hget(key, field)
        if first is not None:  # else the event's data was deleted meanwhile: reserve again
            return first.decode(), False
    return fresh, True
