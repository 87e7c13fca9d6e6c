"""Per-person rate limits kept in the store, so they hold across nodes (GCRA).

Each person has one stored number: the theoretical arrival time (TAT) of his next
action. An action at `t` is allowed when `TAT - t` stays within the burst allowance;
it pushes the TAT on by one interval. One hash field per person, updated with
compare-and-set: no counters that drift, no keys that pile up per time window.
"""

from __future__ import annotations

from room.records import now
from room.store import Store


async def take(
    store: Store, key: str, member: str, every: float, burst: int, at: float | None = None
) -> bool:
    """Spend one action of `member`'s allowance; False when he is over the limit."""
    t = now() if at is None else at
    tolerance = every * (burst - 1)
    for _ in range(50):
        raw = await store.hget(key, member)
        tat = float(raw) if raw is not None else t
        tat = max(tat, t)
        if tat - t > tolerance:
            return False
        if await store.hcas(key, member, raw, repr(tat + every).encode()):
            return True
    return False
